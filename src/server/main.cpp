// avsync-server: the sync server binary (PROTOCOL.md §6).

#include <exception>
#include <iostream>

#include "server/command_line.hpp"

int main(int argc, char** argv) {
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
