/**
 * Where a number measured from node came from: the git commit and the machine, in the fields that
 * runtime/provenance.py writes into every Python results file, so the two kinds of results read alike.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/**
 * @param {string} directory any folder inside the checkout.
 * @returns {string} the full sha of HEAD, with "-dirty" when tracked files differ from it; "unknown" outside git.
 */
export function gitCommit(directory) {
  const git = (...args) => execFileSync('git', args, { cwd: directory, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const sha = git('rev-parse', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no');
    return sha + (dirty ? '-dirty' : '');
  } catch {
    return 'unknown';
  }
}

/**
 * @returns {{cpu: string, cores: number, memory_gb: number, accelerator: string, os: string, node: string}} as
 *     runtime.provenance.machine_info(), with node's version where Python's names Python's.
 */
export function machineInfo() {
  return {
    cpu: os.cpus()[0]?.model ?? os.machine(),
    cores: os.cpus().length,
    memory_gb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10, // MemTotal in GiB, as Python rounds it
    accelerator: 'none',
    os: `${os.type()}-${os.release()}-${os.machine()}`,
    node: process.versions.node,
  };
}
