/** Discord's epoch (2015-01-01T00:00:00Z) in milliseconds. */
export const DISCORD_EPOCH_MS = 1_420_070_400_000;

/** Makes Discord-shaped snowflakes (timestamp << 22 | worker | increment): 18–19 digits today. */
export function createSnowflakeGenerator(now: () => number = Date.now): () => string {
  let increment = 0n;
  let lastMs = 0n;
  return () => {
    const realMs = BigInt(Math.max(now(), DISCORD_EPOCH_MS + 1)) - BigInt(DISCORD_EPOCH_MS);
    const ms = realMs > lastMs ? realMs : lastMs;
    if (ms !== lastMs) {
      lastMs = ms;
      increment = 0n;
    }
    // 12 bits of increment; roll over into the next millisecond so ids stay unique and ascending.
    if (increment > 0xfffn) {
      lastMs += 1n;
      increment = 0n;
    }
    const id = (lastMs << 22n) | (1n << 17n) | increment;
    increment += 1n;
    return id.toString();
  };
}

/** The creation time encoded in a snowflake, in Unix milliseconds. */
export function snowflakeTimestampMs(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH_MS;
}
