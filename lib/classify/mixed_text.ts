/**
 * The span machinery every mixed-domain text builder shares: a document held as paragraphs of
 * labelled pieces (sentences, or whole paragraphs as one piece) is rendered to text with the exact
 * character span of every labelled piece.
 *
 * Paragraph mixes (spliced_documents.ts: one piece per paragraph), sentence mixes
 * (sentence_mixes.ts: host sentences and inserted sentences on one line) and the experiment's
 * web-like documents (web_documents.ts: both at once) are all built as pieces and rendered here,
 * so their spans are exact by the same code.
 * @module
 */
import type { CharSpan } from '../data/span_labels.js';

/** A piece of text and its domain; `null`: the piece gets no span. */
export interface TextPiece {
  text: string;
  label: string | null;
}

/** Rendered text and the `[start, end, label]` span of every labelled piece, in text order. */
export interface RenderedText {
  text: string;
  spans: CharSpan[];
}

/**
 * Joins the pieces of a paragraph with single spaces and the paragraphs with `separator`
 * (a blank line by default); records the span of each piece whose label is not null.
 * Pieces are used as given (trim them first); empty pieces are skipped.
 */
export function renderPieces(paragraphs: readonly (readonly TextPiece[])[], separator = '\n\n'): RenderedText {
  let text = '';
  const spans: CharSpan[] = [];
  let firstParagraph = true;
  for (const paragraph of paragraphs) {
    const pieces = paragraph.filter((p) => p.text.length > 0);
    if (pieces.length === 0) continue;
    if (!firstParagraph) text += separator;
    firstParagraph = false;
    pieces.forEach((piece, i) => {
      if (i > 0) text += ' ';
      if (piece.label !== null) spans.push([text.length, text.length + piece.text.length, piece.label]);
      text += piece.text;
    });
  }
  return { text, spans };
}
