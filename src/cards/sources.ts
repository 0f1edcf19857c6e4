/**
 * A source a card may cite. The sources themselves are clinical knowledge, kept as data by the
 * content plugged into the engine (hooks/sources.yaml) and handed to the renderer in its context.
 */
export interface SourceReference {
  id: string;
  /** Short name for card labels and link labels. */
  label: string;
  url?: string;
  /** A seed document: provenance only, never shown to the clinician. */
  seed?: true;
}
