import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE_SETTINGS, RULE_SETTINGS_DOC, ruleSettingsFromEnv } from '../../hooks/settings.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { SPINE_CDS } from '../../hooks/index.js';

describe('configuration from the environment', () => {
  it('has embedded defaults that start a development service', () => {
    const config = loadConfig({}, SPINE_CDS);
    expect(config).toMatchObject({ port: 3000, host: '127.0.0.1', auth: 'off', production: false, databaseUrl: 'sqlite:./data/spine-cds.db', fhirDeadlineMs: 3000 });
    expect(config.warnings.join(' ')).toMatch(/CDS_AUTH=off/);
    expect(config.warnings.join(' ')).toMatch(/FHIR_SERVER_ALLOWLIST/);
  });

  it.each([
    ['PORT', 'eighty'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'loud'],
    ['CDS_AUTH', 'maybe'],
    ['FHIR_DEADLINE_MS', '-1'],
    ['PUBLIC_BASE_URL', 'not a url'],
    ['FHIR_SERVER_ALLOWLIST', 'ftp://x.example'],
  ])('stops on a wrong %s and names the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value }, SPINE_CDS)).toThrowError(new RegExp(variable));
  });

  it('requires the allowlist in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', CDS_ISSUERS: '/etc/issuers.json' }, SPINE_CDS)).toThrowError(/FHIR_SERVER_ALLOWLIST/);
  });

  it('defaults to verifying JWTs in production and refuses to start without issuers', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', FHIR_SERVER_ALLOWLIST: 'https://fhir.example.org' }, SPINE_CDS)).toThrowError(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production', FHIR_SERVER_ALLOWLIST: 'https://fhir.example.org' }, SPINE_CDS)).toThrowError(/CDS_ISSUERS/);
  });

  describe('PATIENT_HASH_KEY', () => {
    const productionEnv = { NODE_ENV: 'production', FHIR_SERVER_ALLOWLIST: 'https://fhir.example.org', CDS_ISSUERS: '/etc/issuers.json', PUBLIC_BASE_URL: 'https://cds.example.org' };

    it.each([
      ['unset', {}],
      ['blank', { PATIENT_HASH_KEY: '' }],
    ])('is required in production (%s): a key generated into the database would travel with every copy of it', (_, key) => {
      expect(() => loadConfig({ ...productionEnv, ...key }, SPINE_CDS)).toThrowError(ConfigError);
      expect(() => loadConfig({ ...productionEnv, ...key }, SPINE_CDS)).toThrowError(/^PATIENT_HASH_KEY is required when NODE_ENV=production: .*openssl rand -base64 32/);
    });

    it('is taken in production when set', () => {
      expect(loadConfig({ ...productionEnv, PATIENT_HASH_KEY: 'k'.repeat(32) }, SPINE_CDS).patientHashKey).toBe('k'.repeat(32));
    });

    it('may stay unset in development and test, where the store generates one', () => {
      for (const NODE_ENV of ['development', 'test']) {
        expect(loadConfig({ NODE_ENV }, SPINE_CDS).patientHashKey).toBeUndefined();
      }
    });
  });

  it('normalises allowlist entries to origins', () => {
    const config = loadConfig({ FHIR_SERVER_ALLOWLIST: 'https://fhir.example.org/R4/, http://127.0.0.1:8080' }, SPINE_CDS);
    expect(config.fhirServerAllowlist).toEqual(['https://fhir.example.org', 'http://127.0.0.1:8080']);
  });

  describe('boolean variables: service settings and RULE_* settings read the same spellings', () => {
    const ruleBooleans = RULE_SETTINGS_DOC.filter((d) => typeof DEFAULT_RULE_SETTINGS[d.key] === 'boolean');

    it('has RULE_* boolean settings to compare against', () => {
      expect(ruleBooleans.length).toBeGreaterThan(0);
    });

    it.each([
      ['true', true],
      ['1', true],
      ['false', false],
      ['0', false],
    ])('reads %s as %s everywhere', (spelling, expected) => {
      const env = Object.fromEntries([['TRUST_PROXY', spelling], ...ruleBooleans.map((d) => [d.env, spelling])]);
      const config = loadConfig(env, SPINE_CDS);
      expect(config.trustProxy).toBe(expected);
      for (const doc of ruleBooleans) {
        expect(config.rules[doc.key]).toBe(expected);
        expect(ruleSettingsFromEnv({ [doc.env]: spelling })[doc.key]).toBe(expected);
      }
    });

    it.each(['yes', 'no', 'on', 'off', 'TRUE', 'False', 'y', '2', ' true', 'false '])('refuses %j everywhere, naming the variable', (spelling) => {
      expect(() => loadConfig({ TRUST_PROXY: spelling }, SPINE_CDS)).toThrowError(/TRUST_PROXY/);
      for (const doc of ruleBooleans) {
        expect(() => loadConfig({ [doc.env]: spelling }, SPINE_CDS)).toThrowError(ConfigError);
        expect(() => ruleSettingsFromEnv({ [doc.env]: spelling })).toThrowError(doc.env);
      }
    });
  });
});
