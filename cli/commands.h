/*
 * commands.h - the subcommands of the rmmhunt command.
 *
 * Each subcommand lives in its own file and is called with argv[0] set to its
 * own name; it returns the process exit status (0 ok, 1 failure found or
 * runtime error, 2 usage error).  Its diagnostics go through base/log.h,
 * prefixed "rmmhunt NAME: " (main() sets that before calling it).
 */
#ifndef RMMHUNT_CLI_COMMANDS_H
#define RMMHUNT_CLI_COMMANDS_H

int command_status(int argc, char **argv);
int command_rules(int argc, char **argv);
int command_inspect(int argc, char **argv);
int command_query(int argc, char **argv);
int command_devices(int argc, char **argv);

#endif
