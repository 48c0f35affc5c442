import type { ValueTransformer } from 'typeorm';

/**
 * mysql2 returns BIGINT as a string; positions and ids stay far below 2^53,
 * so the application works with plain numbers on both drivers.
 */
export const bigintColumn: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
