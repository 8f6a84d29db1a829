import type { PlatformDeclaration } from '../types.js';

/** NextNet.ai: AI search visibility, with a WordPress plugin whose key NextNet shows exactly once. */
export const nextnetPlatform = {
  name: 'nextnet',
  label: 'NextNet',
  offers: 'AI search visibility',
  secrets: [{ name: 'wordpress-api-key', label: 'WordPress key', whenLost: 'flag-for-a-person' }],
} as const satisfies PlatformDeclaration;
