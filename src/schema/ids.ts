import { decodeGlobalID } from '@pothos/plugin-relay';

/** The database id inside a global ID of `typename`, or null when it is malformed or of another type. */
export function decodeId(typename: string, globalId: string): number | null {
  try {
    const { typename: actual, id } = decodeGlobalID(globalId);
    const value = Number(id);
    return actual === typename && /^[1-9]\d{0,15}$/.test(id) && Number.isSafeInteger(value) ? value : null;
  } catch {
    return null;
  }
}
