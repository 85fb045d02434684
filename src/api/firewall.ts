import * as s from './schema.ts';

/**
 * The Proxmox firewall's rule formats as schema patterns and CEL rules, after pve-firewall's
 * src/PVE/Firewall.pm (`parse_address_list`, `parse_port_name_number_or_range`, `verify_rule`),
 * so the API server refuses what Proxmox would refuse. What CEL cannot say (the order of the
 * two ends of an address range) the controller checks: src/proxmox/firewall-specs.ts.
 *
 * Every string here is bounded (CEL's cost estimate multiplies a rule's cost by the size of
 * the strings and lists it walks), and every regular expression is a raw CEL string (`r'…'`).
 */

/** `$ip_alias_pattern`, optionally scoped (`dc/`, `guest/`); at most 64 characters. */
const aliasRe = '^(dc/|guest/)?[A-Za-z][A-Za-z0-9_-]+$';
/** An IP set reference: `+name`, optionally scoped (`dc/`, `guest/`, `sdn/`); the name at most 64 characters. */
const ipsetRe = '^\\+(dc/|guest/|sdn/)?[A-Za-z][A-Za-z0-9_-]+$';

/** `$PROTOCOLS_WITH_PORTS`: the protocols a port may go with. */
const portProtocols = ['tcp', '6', 'udp', '17', 'udplite', '136', 'dccp', '33', 'sctp', '132'];
/** `$proto_is_icmp`: with these, `dport` names an ICMP type instead of a port. */
const icmpProtocols = ['icmp', 'icmpv6', 'ipv6-icmp'];

/**
 * The macros pve-firewall defines (`$pve_fw_macros`), lower-cased: Proxmox looks a macro up
 * regardless of case and refuses any other name ("unknown macro").
 */
export const firewallMacros = [
  'Amanda', 'Auth', 'BGP', 'BitTorrent', 'BitTorrent32', 'Ceph', 'CVS', 'Citrix', 'DAAP', 'DCC', 'DHCPfwd', 'DNS', 'Distcc', 'FTP', 'Finger',
  'GNUnet', 'GRE', 'Git', 'HKP', 'HTTP', 'HTTPS', 'ICPV2', 'ICQ', 'IMAP', 'IMAPS', 'IPIP', 'IPsec', 'IPsecah', 'IPsecnat', 'IRC', 'Jetdirect',
  'L2TP', 'LDAP', 'LDAPS', 'MSNP', 'MSSQL', 'Mail', 'MDNS', 'Munin', 'MySQL', 'NNTP', 'NNTPS', 'NTP', 'OSPF', 'OpenVPN', 'PCA', 'PMG', 'POP3',
  'POP3S', 'PPtP', 'Ping', 'PostgreSQL', 'Printer', 'RDP', 'RIP', 'RNDC', 'Razor', 'Rdate', 'Rsync', 'SANE', 'SMB', 'SMBswat', 'SMTP', 'SMTPS',
  'SNMP', 'SPAMD', 'SSH', 'SVN', 'SixXS', 'SPICEproxy', 'Squid', 'Submission', 'Syslog', 'TFTP', 'Telnet', 'Telnets', 'Time', 'Trcrt', 'VNC',
  'VNCL', 'Web', 'Webcache', 'Webmin', 'Whois',
] as const;

const celList = (values: readonly string[]) => `[${values.map((v) => `'${v}'`).join(', ')}]`;

/** True when the CEL string expression `x` names an address literally (not an alias or IP set). */
const literal = (x: string) => `!${x}.startsWith('+') && !${x}.matches(r'${aliasRe}')`;

const octet = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const ipv4Network = `${octet}(\\.${octet}){3}(/(3[0-2]|[12]?[0-9]))?`;
/** The shape of an IPv6 address or network; each one is parsed in full by the controller. */
const ipv6Network = '[0-9a-fA-F]{0,4}:[0-9a-fA-F:.]*(/[0-9]{1,3})?';

// A list is split and parsed element by element only in the controller: a CEL loop over a
// 512-character string is far over the API server's cost budget. Admission checks a single
// address fully and a list's form with one regular expression.
const addressRules: s.CelRule[] = [
  {
    rule: `self.startsWith('+') ? self.matches(r'${ipsetRe}') && size(self) <= 65 : true`,
    message: 'an IP set reference is +name (or +dc/name, +guest/name, +sdn/name), the name at most 64 characters of letters, digits, - and _, starting with a letter',
  },
  { rule: `!self.matches(r'${aliasRe}') || size(self) <= 64`, message: 'an alias name has at most 64 characters' },
  {
    rule: `!(${literal('self')}) || self.contains(',') || self.contains('-') || isIP(self) || isCIDR(self)`,
    message: 'must be an IP address, a network in CIDR form (10.0.0.0/24), a range (10.0.0.1-10.0.0.9), a comma-separated list of addresses and networks, an alias, or an IP set (+name)',
  },
  {
    // Net::IP takes a network only with its host bits zero ("Invalid prefix").
    rule: '!isCIDR(self) || cidr(self).masked().ip() == cidr(self).ip()',
    message: 'a network must have its host bits zero, such as 10.0.0.0/24 rather than 10.0.0.5/24 (Proxmox: "Invalid prefix")',
  },
  {
    rule: `!(${literal('self')}) || self.contains(',') || !self.contains('-') || (self.split('-').size() == 2 && isIP(self.split('-')[0]) && isIP(self.split('-')[1]) && ip(self.split('-')[0]).family() == ip(self.split('-')[1]).family())`,
    message: 'a range is two addresses of one family joined by -, such as 10.0.0.1-10.0.0.9',
  },
  {
    rule: `!self.contains(',') || self.matches(r'^${ipv4Network}(,${ipv4Network})*$') || self.matches(r'^${ipv6Network}(,${ipv6Network})*$')`,
    message: 'a list takes IP addresses and networks of one family, separated by commas: no ranges, aliases or IP sets (Proxmox: "you can\'t use a range in a list", "detected mixed ipv4/ipv6 addresses")',
  },
];

const address = (description: string) =>
  s.string({ description, maxLength: 512, rules: addressRules });

const port = '([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
const portItem = `(${port}(:${port})?|[A-Za-z][A-Za-z0-9._+-]*)`;

// As with addresses, the controller parses each item (a range's order, the count of 15
// with a range counting as two); admission checks the form and at most 15 items.
const portRules: s.CelRule[] = [
  {
    rule: `self.matches(r'^${portItem}(,${portItem}){0,14}$')`,
    message: 'must be ports (0 to 65535), ranges first:last, or service names, separated by commas, at most 15 of them',
  },
];

const ports = (description: string) =>
  s.string({ description: `${description} Ports (\`80\`), ranges (\`8000:8100\`, first ≤ last) and service names (\`https\`), separated by commas; at most 15 ports, a range counting as two.`, maxLength: 128, rules: portRules });

function firewallRuleFor(scope: 'guest' | 'cluster') {
  return s.object(
    {
      type: s.literal(['in', 'out', 'group'] as const, { description: 'Direction, or `group` to insert a security group.' }),
      action: s.string({
        description: '`ACCEPT`, `DROP` or `REJECT`, or the security group name when `type` is `group` (at most 18 characters).',
        minLength: 2,
        maxLength: 20,
        pattern: '^[A-Za-z][A-Za-z0-9_-]+$',
      }),
      macro: s.string({
        description: `A Proxmox firewall macro (case does not matter): ${firewallMacros.map((m) => `\`${m}\``).join(', ')}.`,
        maxLength: 128,
        pattern: '^[A-Za-z0-9_-]+$',
        rules: [{ rule: `self.lowerAscii() in ${celList(firewallMacros.map((m) => m.toLowerCase()))}`, message: 'unknown macro: Proxmox defines only the macros listed in the API reference' }],
      }),
      proto: s.string({
        description: 'IP protocol: a name from /etc/protocols (`tcp`, `udp`, `icmp`…) or a number from 0 to 255.',
        maxLength: 32,
        pattern: '^([a-zA-Z][a-zA-Z0-9._+-]*|[0-9]{1,3})$',
        rules: [{ rule: "!self.matches(r'^[0-9]{1,3}$') || int(self) <= 255", message: 'a protocol number is at most 255' }],
      }),
      source: address('Source: an IP address, a network in CIDR form (host bits zero), a range `a-b`, a comma-separated list of addresses or networks, an alias (`name`, `dc/name`, `guest/name`) or an IP set (`+name`).'),
      dest: address('Destination, in the same forms as `source`.'),
      sport: ports('Source port(s).'),
      dport: ports('Destination port(s); with an ICMP protocol, an ICMP type name.'),
      iface: scope === 'guest'
        ? s.string({ description: 'The guest interface the rule applies to: `net0`, `net1`…', maxLength: 20, pattern: '^net[0-9]+$' })
        : s.string({ description: 'Host interface the rule applies to, such as `vmbr0`.', minLength: 2, maxLength: 20, pattern: '^[a-zA-Z][a-zA-Z0-9_]{1,20}([:.][0-9]+)?$' }),
      log: s.literal(['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog'] as const, { description: 'Log level for packets that match.' }),
      comment: s.string({ description: 'Free text shown in the Proxmox UI (one line).', maxLength: 512, pattern: '^[^\\n\\r]*$' }),
      enabled: s.boolean({ description: 'Whether the rule is active.', default: true }),
    },
    {
      description: 'A Proxmox VE firewall rule, in the order it is evaluated.',
      required: ['type', 'action'],
      rules: [
        { rule: "self.type == 'group' || self.action in ['ACCEPT', 'DROP', 'REJECT']", message: 'action must be ACCEPT, DROP or REJECT (or a security group name with type: group)', fieldPath: '.action' },
        { rule: "self.type != 'group' || size(self.action) <= 18", message: 'a security group name has at most 18 characters', fieldPath: '.action' },
        { rule: '!has(self.macro) || !has(self.proto)', message: 'a rule takes either a macro or a protocol, not both', fieldPath: '.macro' },
        {
          rule: `!has(self.dport) || (has(self.proto) && self.proto in ${celList([...portProtocols, ...icmpProtocols])})`,
          message: `dport needs proto: one that has ports (${portProtocols.filter((p) => !/^\d/.test(p)).join(', ')}) or an ICMP one, whose dport is an ICMP type`,
          fieldPath: '.dport',
        },
        {
          // Proxmox would also read a number here as an ICMP type: one meant as a port is a mistake this catches.
          rule: `!has(self.dport) || !has(self.proto) || !(self.proto in ${celList(icmpProtocols)}) || self.dport.matches(r'^[a-z][a-z0-9-]*$')`,
          message: 'with an ICMP protocol, dport is an ICMP type name such as echo-request, not a port',
          fieldPath: '.dport',
        },
        {
          rule: `!has(self.sport) || (has(self.proto) && self.proto in ${celList(portProtocols)})`,
          message: `sport needs proto: one that has ports (${portProtocols.filter((p) => !/^\d/.test(p)).join(', ')})`,
          fieldPath: '.sport',
        },
        {
          rule: `!has(self.source) || !has(self.dest) || !(${literal('self.source')}) || !(${literal('self.dest')}) || self.source.contains(':') == self.dest.contains(':')`,
          message: 'source and dest must be of one IP family (Proxmox: "detected mixed ipv4/ipv6 addresses in rule")',
          fieldPath: '.dest',
        },
        {
          rule: `!has(self.proto) || self.proto != 'icmp' || ((!has(self.source) || !(${literal('self.source')}) || !self.source.contains(':')) && (!has(self.dest) || !(${literal('self.dest')}) || !self.dest.contains(':')))`,
          message: 'icmp is IPv4 only: use icmpv6 with IPv6 addresses',
          fieldPath: '.proto',
        },
        {
          rule: `!has(self.proto) || !(self.proto in ['icmpv6', 'ipv6-icmp']) || ((!has(self.source) || !(${literal('self.source')}) || self.source.contains(':')) && (!has(self.dest) || !(${literal('self.dest')}) || self.dest.contains(':')))`,
          message: 'icmpv6 is IPv6 only: use icmp with IPv4 addresses',
          fieldPath: '.proto',
        },
      ],
    },
  );
}

/** A guest's rule: `iface` names one of its interfaces (`netN`), as verify_rule requires for guests. */
export const firewallRule = firewallRuleFor('guest');

export const firewallRules = s.array(firewallRule, { description: 'Rules, evaluated in order.', maxItems: 256 });

/** The cluster's rules: `iface` is a host interface. */
export const clusterFirewallRules = s.array(firewallRuleFor('cluster'), { description: 'Rules, evaluated in order.', maxItems: 256 });

export const firewallPolicy = (direction: string) =>
  s.literal(['ACCEPT', 'DROP', 'REJECT'] as const, { description: `Default policy for ${direction} traffic.` });

export const guestFirewall = s.object(
  {
    enabled: s.boolean({ description: 'Turns the guest firewall on. Each network interface also needs `firewall: true`.', default: true }),
    policyIn: firewallPolicy('incoming'),
    policyOut: firewallPolicy('outgoing'),
    dhcp: s.boolean({ description: 'Allow DHCP.' }),
    macFilter: s.boolean({ description: 'Drop traffic from MAC addresses other than the guest\'s own.' }),
    ipFilter: s.boolean({ description: 'Drop traffic from IP addresses other than the guest\'s own.' }),
    rules: firewallRules,
  },
  { description: 'The guest\'s Proxmox firewall: options and rules. Phoenix owns the whole rule list when this is set.' },
);
