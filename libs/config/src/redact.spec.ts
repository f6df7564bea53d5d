import { describe, expect, it } from 'vitest';
import { redactUrl, scrubSecrets, urlProblem } from './redact.js';

describe('redactUrl', () => {
  it('masks the password of a URL and keeps the rest', () => {
    expect(redactUrl('postgresql://app:s3cret@db:5432/gw')).toBe('postgresql://app:***@db:5432/gw');
    expect(redactUrl('redis://localhost:6379')).toBe('redis://localhost:6379');
  });

  it('masks the whole user part of a URL that does not parse', () => {
    expect(redactUrl('redis://:s3cret@db:99999')).toBe('redis://***@db:99999');
    expect(redactUrl('postgresql://app:p@ss@word@db:5432 /gw')).toBe('postgresql://***@db:5432 /gw');
    expect(redactUrl('not a url, with a p4ss@word')).toBe('***');
    expect(redactUrl('no credentials here')).toBe('no credentials here');
  });
});

describe('urlProblem', () => {
  const redis = ['redis:', 'rediss:'];
  it('says what is wrong: the scheme, the port, or the shape', () => {
    expect(urlProblem('redis://localhost:6379', redis)).toBeNull();
    expect(urlProblem('http://localhost:6379', redis)).toBe('must be a URL starting with redis:// or rediss://');
    expect(urlProblem('localhost:6379', redis)).toBe('must be a URL starting with redis:// or rediss://');
    expect(urlProblem('redis://localhost:99999', redis)).toBe('has port "99999", which is not a port number from 1 to 65535');
    expect(urlProblem('redis://:pw@localhost:63x79/0', redis)).toBe('has port "63x79", which is not a port number from 1 to 65535');
    expect(urlProblem('redis://local host:6379', redis)).toMatch(/^is not a valid URL/);
    expect(urlProblem('redis://[::1]:6379', redis)).toBeNull();
  });
});

describe('scrubSecrets', () => {
  it('replaces secret values and URL passwords, longest first', () => {
    const text = 'failed: password s3cretpw rejected for postgresql://u:s3cretpw@db/x; token admin-token-123456 and admin-token-1234567';
    expect(scrubSecrets(text, ['admin-token-1234567'], ['postgresql://u:s3cretpw@db/x'])).toBe(
      'failed: password *** rejected for postgresql://u:***@db/x; token admin-token-123456 and ***',
    );
  });

  it('finds the password of a malformed URL too, and leaves very short values alone', () => {
    expect(scrubSecrets('x p4ssword y', [], ['redis://:p4ssword@h:99999'])).toBe('x *** y');
    expect(scrubSecrets('a b c', ['b'], ['redis://:c@h'])).toBe('a b c');
  });
});
