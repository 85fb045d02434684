#!/usr/bin/env node
import { commands } from './registry.ts';
import { CommandError, UsageError } from './command.ts';

function help(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return [
    'phoenix: a Kubernetes operator that makes Proxmox VE declarative',
    '',
    'Usage: phoenix <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'phoenix <command> --help' for a command's options.",
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') return main(['version']);
  const entry = commands[name];
  if (entry === undefined) {
    process.stderr.write(`phoenix: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  const command = await entry.load();
  const usage = command.usageFor?.(rest) ?? command.usage;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`phoenix ${name}: ${err.message}\n\n${usage}\n`);
      return 2;
    }
    if (err instanceof CommandError) {
      process.stderr.write(`phoenix ${name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
