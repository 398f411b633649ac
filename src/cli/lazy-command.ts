/**
 * Commands defined in their own module (`audit`, and the ones other parts add) are loaded only when they run:
 * `tessera --help` lists them from a name and a description, without importing their code (and with it Kysely,
 * pg, zod…). The module is imported when the command line names the command (`tessera audit …` or
 * `tessera help audit`), and then adds its full definition, subcommands and help included.
 */
import type { Command } from 'commander'

export async function addLazyCommand(
  program: Command,
  argv: readonly string[],
  name: string,
  description: string,
  /** Imports the command's module and adds the full command to `program`. */
  register: (program: Command) => Promise<void>,
): Promise<void> {
  const words = argv.slice(2).filter((word) => !word.startsWith('-'))
  const named = words[0] === name || (words[0] === 'help' && words[1] === name)
  if (named) {
    await register(program)
    return
  }
  program.command(name).description(description)
}
