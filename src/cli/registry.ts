/** @module The CLI's verbs: name → lazy loader of its command function. */
export type Command = (argv: string[]) => Promise<number>;

export const COMMANDS: Record<string, () => Promise<Command>> = {};

/** Adds a verb; modules register theirs in src/cli/commands.ts. */
export function registerCommand(name: string, load: () => Promise<Command>): void {
  COMMANDS[name] = load;
}
