/**
 * What an enrollment's run says about itself in the Temporal UI: a one-line summary
 * ("Onboarding → ada@example.com") and details in Temporal's Markdown, set once at start.
 */
export interface RunMetadataInput {
  sequence: { id: string; name: string };
  contact: { email: string; name: string | null };
  enrollmentId: string;
  generation: number;
  timeZone: string;
}

export function enrollmentSummary(input: { sequence: { name: string }; contact: { email: string } }): string {
  return `${input.sequence.name} → ${input.contact.email}`;
}

export function enrollmentDetails(input: RunMetadataInput): string {
  const { sequence, contact } = input;
  const who = contact.name ? `${markdownText(contact.name)} · ` : '';
  // Three short lines: the UI shows details in a frame about three lines high.
  return [
    `- **Sequence** ${markdownText(sequence.name)} · \`${sequence.id}\``,
    `- **Contact** ${who}${code(contact.email)} · sends in ${input.timeZone}`,
    `- **Enrollment** \`${input.enrollmentId}\` · generation ${input.generation}`,
  ].join('\n');
}

/** Names are user input: keep Markdown from reading them as formatting. */
function markdownText(text: string): string {
  return text.replace(/[\\`*_[\]<>#|]/g, (char) => `\\${char}`);
}

function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}
