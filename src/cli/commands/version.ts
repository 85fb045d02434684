import { UsageError, type Command } from '../command.ts';
import { phoenixVersion } from '../../version.ts';
import { apiGroup, apiVersion } from '../../api/group.ts';

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the Phoenix version',
  usage: 'phoenix version [--json]',
  async run(argv) {
    const unknown = argv.find((arg) => arg !== '--json');
    if (unknown !== undefined) throw new UsageError(`unknown option '${unknown}'`);
    const info = { phoenix: phoenixVersion, api: `${apiGroup}/${apiVersion}`, node: process.versions.node };
    if (argv.includes('--json')) {
      process.stdout.write(JSON.stringify(info) + '\n');
    } else {
      process.stdout.write(`phoenix ${info.phoenix} (API ${info.api}, Node ${info.node})\n`);
    }
    return 0;
  },
};
