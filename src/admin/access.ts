import { bearerMatches } from '../auth/static-token.js';

/**
 * Who may see /admin. A committee member is not an EHR, so this is not the CDS Hooks JWT:
 * - ADMIN_TOKEN set (any environment): `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time;
 * - no token, production: the dashboard does not exist (404);
 * - no token, development or test: open to loopback callers only (404 to anyone else).
 */
export interface AdminAccessPolicy {
  production: boolean;
  adminToken: string | undefined;
}

export type AdminAccess = { ok: true } | { ok: false; status: 401 | 404 };

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** `remoteAddress` is the socket's peer, never a forwarded header: a proxy in front is not loopback trust. */
export function adminAccess(policy: AdminAccessPolicy, authorization: string | undefined, remoteAddress: string | undefined): AdminAccess {
  if (policy.adminToken) {
    return bearerMatches(authorization, policy.adminToken) ? { ok: true } : { ok: false, status: 401 };
  }
  if (policy.production) return { ok: false, status: 404 };
  return remoteAddress !== undefined && LOOPBACK.test(remoteAddress) ? { ok: true } : { ok: false, status: 404 };
}
