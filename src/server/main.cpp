// avsync-server: the sync server binary (docs/protocol.md §6).

#include <malloc.h>

#include <exception>
#include <iostream>

#include "server/command_line.hpp"

int main(int argc, char** argv) {
  // Requests build short-lived trees on whichever thread serves them. With glibc's default
  // of one malloc arena per thread (up to 8 x cores), each arena keeps the peak of the
  // largest request it ever served; one arena measured the same throughput at half the RSS
  // (make bench).
  mallopt(M_ARENA_MAX, 1);
  auto command = avsync::server::parse_command_line(argc, argv);
  if (!command) {
    std::cerr << "avsync-server: " << command.error().message << "\n";
    return 2;
  }
  try {
    return avsync::server::run_command(*command);
  } catch (const std::exception& e) {
    std::cerr << "avsync-server: " << e.what() << "\n";
    return 1;
  }
}
