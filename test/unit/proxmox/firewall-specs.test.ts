import { strict as assert } from 'node:assert';
import { addressSpecFamily, addressSpecProblem, portSpecProblem } from '../../../src/proxmox/firewall-specs.ts';

// Expected answers written from pve-firewall's src/PVE/Firewall.pm (parse_address_list,
// parse_port_name_number_or_range, the ipset and alias names of verify_rule) and Net::IP's
// rules (a network's host bits zero, a range's start before its end).
describe('firewall address and port specs (pve-firewall)', () => {
  describe('address specs', () => {
    const accepted = [
      '10.0.0.1',
      '10.0.0.0/24',
      '0.0.0.0/0',
      '10.0.0.1/32',
      '10.0.0.1-10.0.0.9',
      '10.0.0.5-10.0.0.5',
      '10.0.0.1,10.0.0.2,192.168.0.0/16',
      'fd00::1',
      'fd00::/64',
      'fd00::1-fd00::9',
      'fd00::1,fe80::/10',
      '::ffff:10.0.0.1',
      'myalias',
      'dc/myalias',
      'guest/my_alias-2',
      '+trusted',
      '+dc/trusted',
      '+guest/trusted',
      '+sdn/vnet1-all',
    ];
    for (const spec of accepted) it(`accepts ${spec}`, () => assert.equal(addressSpecProblem(spec), undefined));

    const refused: [string, string][] = [
      ['999.1.1.1', 'invalid IP address: 999.1.1.1'],
      ['10.0.0.256', 'invalid IP address: 10.0.0.256'],
      ['10.0.0.5/24', 'invalid IP address: 10.0.0.5/24 has host bits set (Invalid prefix); the network is written with them zero'],
      ['fd00::1/64', 'invalid IP address: fd00::1/64 has host bits set (Invalid prefix); the network is written with them zero'],
      ['10.0.0.0/33', 'invalid IP address: 10.0.0.0/33 is not a network'],
      ['10.0.0.9-10.0.0.1', 'invalid IP address: the range 10.0.0.9-10.0.0.1 ends before it starts'],
      ['fd00::9-fd00::1', 'invalid IP address: the range fd00::9-fd00::1 ends before it starts'],
      ['10.0.0.1-fd00::1', 'invalid IP address: 10.0.0.1-fd00::1 is not a range of two addresses of one family'],
      ['10.0.0.1,,10.0.0.2', 'extraneous commas in list'],
      ['10.0.0.1,', 'extraneous commas in list'],
      ['10.0.0.1,fd00::1', "detected mixed ipv4/ipv6 addresses in address list '10.0.0.1,fd00::1'"],
      ['10.0.0.1,10.0.0.2-10.0.0.3', "you can't use a range in a list"],
      ['+9lives', "invalid ipset name '+9lives'"],
      ['+', "invalid ipset name '+'"],
      [`+${'a'.repeat(65)}`, 'ipset name too long'],
      [`${'a'.repeat(65)}`, 'alias name too long'],
      ['x', 'invalid IP address: x'],
    ];
    for (const [spec, message] of refused) it(`refuses ${spec.length > 40 ? `${spec.slice(0, 20)}…` : spec}`, () => assert.equal(addressSpecProblem(spec), message));

    it('keeps a 64-character IP set name and alias, as Proxmox does', () => {
      assert.equal(addressSpecProblem(`+${'a'.repeat(64)}`), undefined);
      assert.equal(addressSpecProblem('a'.repeat(64)), undefined);
    });

    it('tells the family of addresses named literally, and none for IP sets and aliases', () => {
      assert.equal(addressSpecFamily('10.0.0.0/24'), 4);
      assert.equal(addressSpecFamily('fd00::1-fd00::2'), 6);
      assert.equal(addressSpecFamily('+trusted'), undefined);
      assert.equal(addressSpecFamily('dc/lan'), undefined);
    });
  });

  describe('port specs', () => {
    for (const spec of ['22', '0', '65535', '80,443', '8000:8100', '1:1', 'https', 'echo-request', '22,80,443,8000:8100,ssh']) {
      it(`accepts ${spec}`, () => assert.equal(portSpecProblem(spec), undefined));
    }
    const refused: [string, string][] = [
      ['65536', "invalid port '65536'"],
      ['80,,443', 'extraneous commas in list'],
      [',80', 'extraneous commas in list'],
      ['8100:8000', "backwards range '8100:8000' not allowed, did you mean '8000:8100'?"],
      ['1:70000', "invalid port '70000'"],
      ['80-90', "invalid port '80-90'"],
      ['1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16', 'too many entries in port list (> 15 numbers)'],
      ['1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16', 'too many entries in port list (> 15 numbers)'],
    ];
    for (const [spec, message] of refused) it(`refuses ${spec}`, () => assert.equal(portSpecProblem(spec), message));

    it('counts a range as two: seven ranges and a port are 15, and pass', () => {
      assert.equal(portSpecProblem('1:2,3:4,5:6,7:8,9:10,11:12,13:14,15'), undefined);
    });
  });
});
