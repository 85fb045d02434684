import { strict as assert } from 'node:assert';
import { NodeFacts } from '../../../src/controllers/hypervisor/node-facts.ts';

describe('pre-flight lists shared by a burst of creates', () => {
  it('reuses a recent list that shows what is looked for, and reads again before calling anything missing', async () => {
    let now = 0;
    let reads = 0;
    let bridges = ['vmbr0'];
    const facts = new NodeFacts(30_000, () => now);
    const read = async () => {
      reads++;
      return [...bridges];
    };
    const has = (name: string) => (list: string[]) => list.includes(name);
    assert.deepEqual(await facts.find('network:pve', read, has('vmbr0')), ['vmbr0']);
    assert.deepEqual(await facts.find('network:pve', read, has('vmbr0')), ['vmbr0']);
    assert.equal(reads, 1, 'a second create within the TTL reads nothing');
    bridges = ['vmbr0', 'vmbr1'];
    assert.deepEqual(await facts.find('network:pve', read, has('vmbr1')), ['vmbr0', 'vmbr1'], 'a bridge added since is found by a fresh read');
    assert.equal(reads, 2);
    now = 30_000;
    await facts.find('network:pve', read, has('vmbr0'));
    assert.equal(reads, 3, 'an old list is read again');
  });

  it('keeps a list five minutes by default, and as long as a caller allows when it asks for less', async () => {
    let now = 0;
    let reads = 0;
    const facts = new NodeFacts(undefined, () => now);
    const read = async () => {
      reads++;
      return ['vmbr0'];
    };
    await facts.find('network:pve', read, () => true);
    now = 4 * 60_000;
    await facts.find('network:pve', read, () => true);
    assert.equal(reads, 1, 'a burst of clones one at a time lasts minutes');
    await facts.find('network:pve', read, () => true, 60_000);
    assert.equal(reads, 2, 'older than the caller allows');
  });

  it('does not keep a failed read', async () => {
    const facts = new NodeFacts();
    let fail = true;
    const read = async () => {
      if (fail) throw new Error('595');
      return ['local-lvm'];
    };
    await assert.rejects(facts.find('storages:pve', read, () => true));
    fail = false;
    assert.deepEqual(await facts.find('storages:pve', read, () => true), ['local-lvm']);
  });
});
