/** The shape of a platform's declaration (see catalog.ts). Pure data: safe in workflow code. */
export interface SecretDeclaration {
  /** The vault name, e.g. `wordpress-api-key`; also the ops API path segment. */
  readonly name: string;
  /** What a person calls it: "WordPress key". */
  readonly label: string;
  /**
   * What happens when the answer carrying it is lost after the platform issued it: `call-again` (the platform
   * issues a fresh one on the next call, so an activity retry heals it) or `flag-for-a-person` (shown once; a
   * person regenerates it in the platform's dashboard and stores it through the ops API).
   */
  readonly whenLost: 'call-again' | 'flag-for-a-person';
}

export interface PlatformDeclaration {
  readonly name: string;
  /** Its name in sentences and the UI: "Netlify". */
  readonly label: string;
  /** What the client gets from it, for the signup email and docs: "your website hosting". */
  readonly offers: string;
  readonly secrets: readonly SecretDeclaration[];
}
