/**
 * How the kit's CLIs end: the exit code `main` returns (0 done, 1 failed, 2 usage), or 1 with the
 * error on one line of stderr, prefixed with the command's name, so scripts and tests can rely on both.
 */
export function runCli(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${name}: ${(err as Error).message.replace(/\s+/g, ' ')}\n`);
      process.exit(1);
    },
  );
}
