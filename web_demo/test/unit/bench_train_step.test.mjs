/**
 * Unit tests for the pure parts of scripts/bench_train_step.mjs and scripts/provenance.mjs (no browser).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { percentile, shellJoin, summariseMs, trainingCalls } from '../../scripts/bench_train_step.mjs';
import { gitCommit, machineInfo } from '../../scripts/provenance.mjs';

const assertNear = (actual, expected) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

describe('summariseMs', () => {
  it('gives numpy.percentile\'s linear percentiles and the mean', () => {
    // numpy.percentile([4, 1, 3, 2, 10], [50, 95]) == [3.0, 8.8]
    const { p50, p95, mean, min, n } = summariseMs([4, 1, 3, 2, 10]);
    assert.deepEqual({ p50, mean, min, n }, { p50: 3, mean: 4, min: 1, n: 5 });
    assertNear(p95, 8.8);
  });

  it('interpolates between two samples and returns the one sample of one', () => {
    // numpy.percentile([1, 2], [50, 95]) == [1.5, 1.95]
    assert.equal(percentile([1, 2], 50), 1.5);
    assertNear(percentile([1, 2], 95), 1.95);
    assert.deepEqual(summariseMs([7.5]), { p50: 7.5, p95: 7.5, mean: 7.5, min: 7.5, n: 1 });
  });

  it('does not reorder the caller\'s samples', () => {
    const samples = [3, 1, 2];
    summariseMs(samples);
    assert.deepEqual(samples, [3, 1, 2]);
  });

  it('refuses no samples, naming the flag', () => {
    assert.throws(() => summariseMs([]), /--steps must be at least 1/);
  });
});

describe('trainingCalls', () => {
  it('drops the left padding, as the page holds a history', () => {
    const steps = [{ history: [0, 0, 0, 7], target: 3, loss: 1.5 }, { history: [0, 0, 7, 3], target: 9, loss: 1.2 }];
    assert.deepEqual(trainingCalls(steps, 0), [{ history: [7], target: 3 }, { history: [7, 3], target: 9 }]);
  });
});

describe('shellJoin', () => {
  it('quotes as Python\'s shlex.join', () => {
    // shlex.join(['node', 'a b', "it's", '--out=x/y.json', '']) == "node 'a b' 'it'\"'\"'s' --out=x/y.json ''"
    assert.equal(shellJoin(['node', 'a b', "it's", '--out=x/y.json', '']), "node 'a b' 'it'\"'\"'s' --out=x/y.json ''");
  });
});

describe('provenance', () => {
  it('names this checkout\'s commit, and "unknown" outside git', () => {
    assert.match(gitCommit(process.cwd()), /^[0-9a-f]{40}(-dirty)?$/);
    assert.equal(gitCommit('/'), 'unknown');
  });

  it('describes the machine with runtime.provenance.machine_info()\'s fields', () => {
    const machine = machineInfo();
    assert.deepEqual(Object.keys(machine), ['cpu', 'cores', 'memory_gb', 'accelerator', 'os', 'node']);
    assert.ok(machine.cores >= 1 && machine.memory_gb > 0);
    assert.equal(machine.accelerator, 'none');
  });
});
