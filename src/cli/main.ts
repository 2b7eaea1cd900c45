/**
 * The `shoal` command line. Parsing is commander's; each command lives in its own module and
 * returns its exit code (see errors.ts for their meaning). Errors become one line on stderr.
 */
import { Command, CommanderError, Option } from 'commander';
// Commands are loaded when they run: `shoal create` does not pay for loading the swarm engine.
import type { CreateCliOptions } from './commands/create.js';
import type { GetCliOptions } from './commands/get.js';
import type { SeedCliOptions } from './commands/seed.js';
import { addSwarmOptions } from './swarm-options.js';
import { addDhtCommands } from './commands/dht.js';
import { EXIT_OK, explain } from './errors.js';
import { VERSION } from './version.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function program(setCode: (code: number) => void): Command {
  const p = new Command('shoal')
    .description('shoal — a peer-to-peer file-sharing node that speaks BitTorrent')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: () => {} }); // errors are printed once, by main()

  p.command('create')
    .description('make a .torrent from a file or a folder (v1 by default)')
    .argument('<path>', 'file or folder to share')
    .option('-o, --output <file>', 'where to write the torrent (default: <name>.torrent)')
    .option('-l, --piece-length <bytes>', 'piece length, a power of two ≥ 16K (e.g. 262144, 256K, 1M); chosen from the size if left out')
    .option('-t, --tracker <url>', 'tracker URL; repeat for more tiers, commas for alternatives in one tier', collect, [])
    .option('-w, --web-seed <url>', 'web seed URL (BEP 19); repeatable', collect, [])
    .option('-p, --private', 'private torrent (BEP 27): peers only from its trackers')
    .addOption(new Option('--v1', 'v1 torrent (the default; widest compatibility)').conflicts(['v2', 'hybrid']))
    .addOption(new Option('--v2', 'v2 torrent (BEP 52: SHA-256 merkle trees)').conflicts(['hybrid']))
    .option('--hybrid', 'hybrid v1 + v2 torrent (BEP 52 with BEP 47 pad files)')
    .option('-c, --comment <text>', 'comment')
    .option('-n, --name <name>', 'torrent name (default: the file or folder name)')
    .option('-s, --source <text>', 'source tag in the info dictionary (changes the info-hash)')
    .option('--date [seconds]', 'record a creation date (now, or the given time); left out by default')
    .option('-f, --force', 'overwrite the output file')
    .option('--json', 'print the result as one JSON object')
    .option('-q, --quiet', 'no progress bar, no summary')
    .action(async (path: string, o: CreateCliOptions) => setCode(await (await import('./commands/create.js')).createCommand(path, o)));

  p.command('info')
    .description('show what a .torrent or magnet link holds')
    .argument('<torrent>', '.torrent file or magnet link')
    .option('--json', 'print one JSON object')
    .action(async (target: string, o: { json?: boolean }) => setCode(await (await import('./commands/info.js')).infoCommand(target, o)));

  p.command('verify')
    .description('check data on disk against a .torrent; exit 0 only when complete and correct')
    .argument('<torrent>', '.torrent file')
    .argument('<dir>', 'download folder (holding the torrent\'s file or folder), or the data itself')
    .option('--json', 'print one JSON object')
    .option('-q, --quiet', 'no output; the exit code tells')
    .action(async (t: string, dir: string, o: { json?: boolean; quiet?: boolean }) => setCode(await (await import('./commands/verify.js')).verifyCommand(t, dir, o)));

  addSwarmOptions(
    p
      .command('seed')
      .description('serve a file or folder (or a .torrent\'s data); prints the magnet link, serves until Ctrl-C')
      .argument('<path>', 'file or folder to share, or a .torrent file')
      .option('--torrent <file>', 'use this .torrent for <path> instead of hashing a new one')
      .option('-d, --dir <dir>', 'where the data of a .torrent given as <path> lives (default: .)')
      .addOption(new Option('--v1', 'make a v1 torrent (default)').conflicts(['v2', 'hybrid']))
      .addOption(new Option('--v2', 'make a v2 torrent').conflicts(['hybrid']))
      .option('--hybrid', 'make a hybrid v1 + v2 torrent')
      .addOption(new Option('--announce-interval <sec>', 're-announce at least this often').hideHelp()),
  ).action(async (path: string, o: SeedCliOptions) => setCode(await (await import('./commands/seed.js')).seedCommand(path, o)));

  addSwarmOptions(
    p
      .command('get')
      .description('download a torrent from its swarm; exit 0 once every selected byte is on disk and verified')
      .argument('<source>', 'magnet link, .torrent file, or info-hash (hex)')
      .option('-o, --output <dir>', 'download folder (default: .)')
      .option('--seed', 'keep seeding after the download, until Ctrl-C')
      .option('--sequential', 'fetch pieces in order (for streaming)')
      .option('--select <list>', 'only these files, by index: e.g. 0,2-4')
      .addOption(new Option('--announce-interval <sec>', 're-announce at least this often').hideHelp()),
  ).action(async (source: string, o: GetCliOptions) => setCode(await (await import('./commands/get.js')).getCommand(source, o)));

  addDhtCommands(p, setCode);

  return p;
}

/** Runs the CLI and resolves with the exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  let code = EXIT_OK;
  try {
    await program((c) => (code = c)).parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')) {
      return EXIT_OK;
    }
    const { message, code: exit } = explain(err);
    process.stderr.write(`shoal: ${message}\n`);
    return exit;
  }
  return code;
}
