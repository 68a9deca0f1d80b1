import { describe, expect, it } from 'vitest';
import { checkOrigin } from './auth-routes.js';
import { HttpError } from './http.js';
import { permissionsOf, readClaims, sessionOf } from './session.js';
import { aliasFields, intParam, pipelineName, reasonField, runId } from './validate.js';

const jwt = (payload: object): string => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

describe('sessions', () => {
  it('makes everyone admin when authentication is off', () => {
    expect(sessionOf({}, false)?.viewer).toMatchObject({ roles: ['admin'], can: { triggerRun: true, rollout: true, setAlias: true } });
  });

  it('reads the roles of a header or cookie token, for the buttons only', () => {
    const token = jwt({ sub: 'vic', roles: ['viewer'], exp: Date.now() / 1000 + 60 });
    expect(sessionOf({ authorization: `Bearer ${token}` }, true)).toMatchObject({ via: 'header', viewer: { name: 'vic', can: { triggerRun: false, rollout: false } } });
    expect(sessionOf({ cookie: `a=b; refit_token=${token}` }, true)).toMatchObject({ via: 'cookie', token });
    expect(sessionOf({}, true)).toBeUndefined();
    expect(sessionOf({ authorization: `Bearer ${jwt({ sub: 'x', roles: ['viewer'], exp: 1 })}` }, true)).toBeUndefined();
    expect(readClaims('not a token')).toBeUndefined();
  });

  it('follows the services\' role table', () => {
    expect(permissionsOf(['operator'])).toEqual({ triggerRun: true, cancelRun: true, rollout: false, setAlias: false });
    expect(permissionsOf(['admin'])).toEqual({ triggerRun: true, cancelRun: true, rollout: true, setAlias: true });
  });
});

describe('inputs', () => {
  const refused = (fn: () => unknown) => expect(fn).toThrow(HttpError);

  it('limits every path, query and form value', () => {
    expect(pipelineName('weather-rain')).toBe('weather-rain');
    refused(() => pipelineName('<script>'));
    refused(() => pipelineName('a'.repeat(64)));
    refused(() => runId('%E0%A4%A'));
    refused(() => intParam(new URLSearchParams('limit=100000'), 'limit', 50, 1, 500));
    expect(intParam(new URLSearchParams(''), 'limit', 50, 1, 500)).toBe(50);
    refused(() => reasonField(new URLSearchParams('reason=')));
    refused(() => reasonField(new URLSearchParams({ reason: 'x'.repeat(501) })));
    refused(() => reasonField(new URLSearchParams({ reason: 'a\nb' })));
    refused(() => aliasFields(new URLSearchParams({ alias: 'root', version: 'v1' })));
    expect(aliasFields(new URLSearchParams({ alias: 'champion', version: 'v12' }))).toEqual({ alias: 'champion', version: 'v12' });
  });

  it('accepts a POST only from the console\'s own origin', () => {
    expect(() => checkOrigin({ origin: 'http://127.0.0.1:8090', host: '127.0.0.1:8090' }, [])).not.toThrow();
    refused(() => checkOrigin({ origin: 'https://evil.example', host: '127.0.0.1:8090' }, []));
    refused(() => checkOrigin({ host: '127.0.0.1:8090' }, []));
    expect(() => checkOrigin({ origin: 'https://refit.example.com', host: 'internal:8090' }, ['https://refit.example.com'])).not.toThrow();
  });
});
