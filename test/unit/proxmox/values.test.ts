import assert from 'node:assert/strict';
import { formatSize, parseSize, parseSizeChange, GiB } from '../../../src/proxmox/size.ts';
import { invalidTag, normaliseTags, splitList } from '../../../src/proxmox/tags.ts';
import { generateMac, isMacAddress, isUnicastMac } from '../../../src/proxmox/mac.ts';

describe('sizes', () => {
  it('parses Proxmox size strings (bare numbers are bytes)', () => {
    assert.equal(parseSize('8G'), 8 * GiB);
    assert.equal(parseSize('512M'), 512 * 2 ** 20);
    assert.equal(parseSize('1.5T'), 1.5 * 2 ** 40);
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize('8GB'), undefined);
    assert.equal(parseSize('-1G'), undefined);
  });

  it('tells growth (+2G) from absolute sizes', () => {
    assert.deepEqual(parseSizeChange('+2G'), { relative: true, bytes: 2 * GiB });
    assert.deepEqual(parseSizeChange('10G'), { relative: false, bytes: 10 * GiB });
    assert.equal(parseSizeChange('+x'), undefined);
  });

  it('formats with the largest exact unit', () => {
    assert.equal(formatSize(8 * GiB), '8G');
    assert.equal(formatSize(1536 * 2 ** 20), '1536M');
    assert.equal(formatSize(2 ** 40), '1T');
    assert.equal(formatSize(1000), '1000');
  });
});

describe('tags', () => {
  it('normalise as Proxmox stores them: lower-case, unique, sorted, ;-joined', () => {
    assert.equal(normaliseTags('Prod,web'), 'prod;web');
    assert.equal(normaliseTags('web; Prod  web,prod'), 'prod;web');
    assert.equal(normaliseTags(''), '');
  });

  it('split lists like pve-common split_list', () => {
    assert.deepEqual(splitList('a, b;c  d'), ['a', 'b', 'c', 'd']);
    assert.deepEqual(splitList('a b\0c d'), ['a b', 'c d'], 'NUL-separated lists keep spaces');
  });

  it('accept only pve-tag characters', () => {
    assert.equal(invalidTag('k8s.node-1+x_y'), false);
    assert.equal(invalidTag('-leading'), true);
    assert.equal(invalidTag('no space'), true);
  });
});

describe('MAC addresses', () => {
  it('generates under the Proxmox OUI from an injected random source', () => {
    const bytes = [0x0a, 0xff, 0x01];
    assert.equal(generateMac(() => bytes.shift()!), 'BC:24:11:0A:FF:01');
    assert.equal(generateMac(() => 0, '02:00'), '02:00:00:00:00:00');
  });

  it('validates format and unicast', () => {
    assert.equal(isMacAddress('bc:24:11:aa:bb:cc'), true);
    assert.equal(isMacAddress('bc:24:11:aa:bb'), false);
    assert.equal(isUnicastMac('BC:24:11:00:00:01'), true);
    assert.equal(isUnicastMac('01:00:5E:00:00:01'), false);
  });
});
