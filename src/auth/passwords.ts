import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane).
// `Algorithm` is a const enum that isolatedModules cannot read: 2 is Argon2id.
const ARGON2ID = 2;
const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

// A hash to verify against when the username does not exist, so an unknown
// user costs the same time as a wrong password and the two cannot be told apart.
const unknownUserHash = hashPassword('no-such-user-placeholder-password');

/**
 * False for an unknown user (undefined) and for an account without a password
 * (a bot: its passwordHash is no argon2 hash), in the time a wrong password takes.
 */
export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  const usable = passwordHash?.startsWith('$argon2') ? passwordHash : undefined;
  const matches = await verify(usable ?? (await unknownUserHash), password);
  return usable !== undefined && matches;
}
