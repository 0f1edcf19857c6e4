/**
 * Which `fhirServer` origins the service may call. The service forwards the EHR's access token to
 * this URL, so an attacker-chosen fhirServer would both leak the token and turn the service into an
 * SSRF proxy: the check happens before any network call.
 */
export interface FhirServerPolicy {
  production: boolean;
  allowlist: readonly string[];
}

export function isFhirServerAllowed(fhirServer: string, policy: FhirServerPolicy): boolean {
  let url: URL;
  try {
    url = new URL(fhirServer);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  if (url.username || url.password) return false;
  if (policy.allowlist.length > 0) return policy.allowlist.includes(url.origin);
  if (policy.production) return false;
  // Development without an allowlist: loopback (the local sandbox) and any https server.
  return url.protocol === 'https:' || isLoopback(url.hostname);
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
