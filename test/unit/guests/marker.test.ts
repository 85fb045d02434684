import { strict as assert } from 'node:assert';
import { describeWithMarker, ownershipOf, readMarker, stripMarker } from '../../../src/guests/marker.ts';

const owner = { uid: '7f1c2a9e-0b7d-4c53-9a58-3f7d2e1c0a11', ref: 'PhoenixLXC default/web' };

describe('ownership marker', () => {
  it('appends the marker to the user\'s description and reads it back', () => {
    const text = describeWithMarker('Web server\nfor the lab', owner);
    assert.equal(text, `Web server\nfor the lab\n\n<!-- phoenix:owner uid=${owner.uid} ref=PhoenixLXC default/web -->`);
    assert.deepEqual(readMarker(text), owner);
    assert.equal(stripMarker(text), 'Web server\nfor the lab');
  });

  it('is idempotent: marking a marked description does not add a second marker', () => {
    const once = describeWithMarker('notes', owner);
    assert.equal(describeWithMarker(once, owner), once);
  });

  it('tells ours from foreign and unmarked guests', () => {
    assert.equal(ownershipOf(describeWithMarker(undefined, owner), owner.uid), 'ours');
    assert.equal(ownershipOf(describeWithMarker('x', { ...owner, uid: '00000000-0000-0000-0000-000000000000' }), owner.uid), 'foreign');
    assert.equal(ownershipOf('Created by hand', owner.uid), 'unmarked');
    assert.equal(ownershipOf(undefined, owner.uid), 'unmarked');
  });

  it('does not accept a marker buried mid-text (someone quoting it) as proof', () => {
    const quoted = `see <!-- phoenix:owner uid=${owner.uid} ref=x --> for details`;
    assert.equal(ownershipOf(quoted, owner.uid), 'unmarked');
  });
});
