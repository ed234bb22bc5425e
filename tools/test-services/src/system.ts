import { execFileSync, spawnSync } from 'node:child_process';

/** Path of a command, or null. */
export function which(command: string): string | null {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

/**
 * Fails with an actionable message when a system binary is missing. `scripts/ensure-system-deps.sh`
 * (run by `pnpm test`) installs all of them.
 */
export function requireBinary(command: string, aptPackage: string): string {
  const path = which(command);
  if (!path) {
    throw new Error(
      `${command} is not installed. Run \`bash scripts/ensure-system-deps.sh\` (pnpm test does) or \`apt-get install -y ${aptPackage}\`.`,
    );
  }
  return path;
}

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

export function run(command: string, args: string[], options: { user?: string; cwd?: string } = {}): string {
  if (options.user && isRoot()) return execFileSync('runuser', ['-u', options.user, '--', command, ...args], { encoding: 'utf8', cwd: options.cwd });
  return execFileSync(command, args, { encoding: 'utf8', cwd: options.cwd });
}
