import { strict as assert } from 'node:assert';
import { editCompose, looksSecret } from '../../../src/import/compose.ts';

describe('import: compose files', () => {
  it('returns a file that needs no change byte for byte, even with odd layout', () => {
    const text = 'services:\n  web:   { image: "nginx:1.27" }   # inline\n\n\n';
    const edit = editCompose(text, { web: [] });
    assert.equal(edit.text, text);
    assert.deepEqual([edit.labelled, edit.secrets, edit.externalVolumes], [[], [], []]);
  });

  it('leaves a file that does not parse unchanged, and says why', () => {
    const edit = editCompose('services:\n  web:\n    image: [unclosed\n', { web: ['traefik.enable=true'] });
    assert.equal(edit.text, 'services:\n  web:\n    image: [unclosed\n');
    assert.deepEqual(edit.missingServices, ['web']);
    assert.ok(edit.error);
  });

  it('does not add a label twice, and leaves variables and non-secrets alone', () => {
    const edit = editCompose('services:\n  web:\n    image: x\n    labels: [traefik.enable=true]\n    environment:\n      - DB_PASSWORD=${DB_PASSWORD}\n      - LOG_LEVEL=debug\n      - SECRET_EMPTY=\n', { web: ['traefik.enable=true'] });
    assert.equal(edit.secrets.length, 0);
    assert.match(edit.text, /labels: \[traefik\.enable=true\]/);
  });

  it('gives the same secret key in two services two variables', () => {
    const edit = editCompose('services:\n  a:\n    environment: [TOKEN=one]\n  b-2:\n    environment: { TOKEN: two }\n', {});
    assert.deepEqual(edit.secrets.map((s) => [s.service, s.variable]), [['a', 'A_TOKEN'], ['b-2', 'B_2_TOKEN']]);
    assert.ok(!edit.text.includes('one') && !edit.text.includes('two'));
  });

  it('takes names with a password, secret, token or key as secrets', () => {
    assert.deepEqual(['DB_PASS', 'db_password', 'API_KEY', 'apikey', 'GITHUB_TOKEN', 'PRIVATE_KEY', 'AWS_SECRET', 'CREDENTIALS', 'PORT', 'USER', 'KEYCLOAK_URL'].filter(looksSecret), ['DB_PASS', 'db_password', 'API_KEY', 'apikey', 'GITHUB_TOKEN', 'PRIVATE_KEY', 'AWS_SECRET', 'CREDENTIALS']);
  });
});
