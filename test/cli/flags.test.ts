import test from 'ava';
import { parseFlags, FlagError, HelpRequested, flagUsage } from '../../src/cli/flags.ts';

const spec = { dev: 'bool', node: 'string', 'http-port': 'int', recursor: 'list' } as const;

test('flags: -flag v, -flag=v, --flag, booleans and repeatable lists', t => {
  const { flags, args } = parseFlags(['-dev', '--node', 'a', '-http-port=8501', '-recursor', '1.1.1.1', '--recursor=8.8.8.8', 'rest', '-x'], spec);
  t.deepEqual(flags, { dev: true, node: 'a', 'http-port': 8501, recursor: ['1.1.1.1', '8.8.8.8'] });
  t.deepEqual(args, ['rest', '-x']);
});

test('flags: -dev=false, and -- ends flags', t => {
  t.deepEqual(parseFlags(['-dev=false', '--', '-node'], spec), { flags: { dev: false }, args: ['-node'] });
});

for (const [argv, msg] of [
  [['-nope'], 'flag provided but not defined: -nope'],
  [['-node'], 'flag needs an argument: -node'],
  [['-http-port', 'x'], 'invalid value "x" for flag -http-port: parse error'],
] as const) {
  test(`flags: ${argv.join(' ')} → ${msg}`, t => {
    t.is(t.throws(() => parseFlags([...argv], spec), { instanceOf: FlagError })!.message, msg);
  });
}

test('flags: -h, -help and --help ask for the command\'s flag list; -h=x is still an unknown flag', t => {
  const spec = { listen: 'string', retries: 'int', 'access-log': 'bool', suffix: 'list' } as const;
  for (const h of ['-h', '-help', '--help']) {
    const err = t.throws(() => parseFlags(['-listen', ':1', h], spec), { instanceOf: HelpRequested });
    t.is(err?.spec, spec);
  }
  t.throws(() => parseFlags(['-h=1'], spec), { instanceOf: FlagError, message: 'flag provided but not defined: -h' });
  t.is(flagUsage(spec), '  -access-log\n  -listen=<value>\n  -retries=<number>\n  -suffix=<value> (repeatable)');
});
