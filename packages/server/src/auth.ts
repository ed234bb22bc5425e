import { createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { SignJWT, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { idSchema } from '@outbid/core';
import { requestHeader } from './node-http.js';
import { HttpProblem } from './problem.js';

export const ROLES = ['creator', 'bidder', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: string;
  roles: Role[];
}

export type AuthOptions =
  | {
      mode: 'jwt';
      secret?: string;
      jwksUrl?: string;
      issuer?: string;
      audience?: string;
      /** The claim holding the roles, an array of role names; a dotted path reaches into objects (`realm_access.roles`). Default `roles`. */
      rolesClaim?: string;
    }
  | { mode: 'gateway'; gatewaySecret: string }
  | { mode: 'dev'; secret: string };

export type AuthEnv = { Variables: { user: User | null } };

const BEARER = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)$/;
// One answer for every bad token (expired, forged, wrong audience…): no oracle for attackers.
const invalidToken = () =>
  new HttpProblem(401, 'INVALID_TOKEN', 'The access token is missing, malformed, expired or not valid here.', {
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
  });

const knownRoles = (list: readonly unknown[]): Role[] => list.filter((r): r is Role => (ROLES as readonly string[]).includes(r as string));

/**
 * Roles from a token claim: only an array of role names counts. A string is not split (`"viewer creator"` would
 * otherwise grant two roles from one value whose format the issuer never promised).
 */
function rolesFromClaim(payload: Record<string, unknown>, claim: string): Role[] {
  let value: unknown = payload[claim];
  if (value === undefined && claim.includes('.')) value = claim.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), payload);
  return Array.isArray(value) ? knownRoles(value) : [];
}

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** A fresh random secret for dev mode. */
export const generateDevSecret = () => randomBytes(32).toString('base64url');

/** Issues a dev-mode token (HS256, 12 h). */
export async function issueDevToken(secret: string, userId: string, roles: Role[]): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(secret));
}

/**
 * Resolves the caller into `c.var.user` (null when anonymous). JWTs: the algorithm is pinned (HS256 for a
 * shared secret, RS256/ES256/EdDSA for a JWKS) and never taken from the token; exp and nbf are enforced; iss and
 * aud when configured. Gateway mode trusts X-User-Id / X-User-Roles only with the shared gateway secret.
 */
export function authenticate(options: AuthOptions) {
  const rolesClaim = (options.mode === 'jwt' && options.rolesClaim) || 'roles';
  let verifyKey: KeyObject | JWTVerifyGetKey | null = null;
  const verified = createVerifiedTokenCache();
  let algorithms: string[] = [];
  if (options.mode === 'jwt' && options.jwksUrl) {
    verifyKey = createRemoteJWKSet(new URL(options.jwksUrl));
    algorithms = ['RS256', 'ES256', 'EdDSA'];
  } else if (options.mode === 'jwt' || options.mode === 'dev') {
    // Imported once: jose would otherwise import the raw secret again on every verification.
    verifyKey = createSecretKey(Buffer.from(options.secret ?? ''));
    algorithms = ['HS256'];
  }

  return createMiddleware<AuthEnv>(async function outbidAuthenticate(c, next) {
    c.set('user', null);
    if (options.mode === 'gateway') {
      const secret = requestHeader(c, 'x-gateway-secret');
      const id = requestHeader(c, 'x-user-id');
      if (secret !== undefined || id !== undefined) {
        if (!secret || !sameSecret(secret, options.gatewaySecret) || !id || !idSchema.safeParse(id).success) {
          throw new HttpProblem(401, 'INVALID_GATEWAY_CREDENTIALS', 'The request did not come through the trusted gateway.');
        }
        // The gateway's header is a comma-separated list by definition (it is our own format, not a token claim).
        c.set('user', { id, roles: knownRoles((requestHeader(c, 'x-user-roles') ?? '').split(',').map((r) => r.trim())) });
      }
      return next();
    }
    const header = requestHeader(c, 'authorization');
    if (header !== undefined) {
      const match = BEARER.exec(header);
      if (!match || !verifyKey) throw invalidToken();
      const known = verified.get(match[1]!);
      if (known) {
        c.set('user', known);
        return next();
      }
      try {
        const { payload } = await jwtVerify(match[1]!, verifyKey as KeyObject, {
          algorithms,
          ...(options.mode === 'jwt' && options.issuer ? { issuer: options.issuer } : {}),
          ...(options.mode === 'jwt' && options.audience ? { audience: options.audience } : {}),
          requiredClaims: ['sub', 'exp'],
        });
        if (typeof payload.sub !== 'string' || !idSchema.safeParse(payload.sub).success) throw invalidToken();
        const user = { id: payload.sub, roles: rolesFromClaim(payload, rolesClaim) };
        verified.set(match[1]!, user, payload.exp! * 1_000);
        c.set('user', user);
      } catch {
        throw invalidToken();
      }
    }
    return next();
  });
}

/**
 * Tokens already verified, so a client sending the same bearer token on every request pays for the signature check
 * once. An entry lasts until the token expires, and at most a minute (a JWKS key taken out of service stops being
 * trusted within that); the whole token string is the key, so another signature never matches.
 */
function createVerifiedTokenCache(maxEntries = 10_000, maxAgeMs = 60_000) {
  const entries = new Map<string, { user: User; until: number }>();
  return {
    get(token: string): User | null {
      const entry = entries.get(token);
      if (!entry) return null;
      if (Date.now() >= entry.until) {
        entries.delete(token);
        return null;
      }
      return entry.user;
    },
    set(token: string, user: User, expiresAt: number) {
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!); // the oldest
      entries.set(token, { user, until: Math.min(expiresAt, Date.now() + maxAgeMs) });
    },
  };
}

/** Middleware form of {@link requireUser}: the route runs only for a signed-in user with one of `roles`. */
export function requireRole(...roles: Role[]) {
  return createMiddleware<AuthEnv>(async function outbidRequireRole(c, next) {
    requireUser(c, roles);
    await next();
  });
}

/** The caller must be signed in with one of `roles` (any role when empty). */
export function requireUser(c: { get(key: 'user'): User | null }, roles: readonly Role[] = []): User {
  const user = c.get('user');
  if (!user) {
    throw new HttpProblem(401, 'AUTHENTICATION_REQUIRED', 'Sign in: send an Authorization: Bearer token.', {
      headers: { 'www-authenticate': 'Bearer' },
    });
  }
  if (roles.length > 0 && !roles.some((r) => user.roles.includes(r))) {
    throw new HttpProblem(403, 'ROLE_REQUIRED', `This needs the ${roles.join(' or ')} role.`);
  }
  return user;
}
