/**
 * Liquid templates for subjects and bodies (D3), rendered at send time from the live
 * version with the contact's fields, custom attributes and defaults
 * (`{{ contact.first_name | default: "there" }}`).
 *
 * - In HTML bodies every output is HTML-escaped, so a contact named `<script>` stays text;
 *   `{{ value | raw }}` opts out. Subjects and plain-text bodies are not escaped.
 * - Templates cannot read files: `include`, `render` and `layout` see no file system.
 * - Every email carries its unsubscribe link (D7): a body that does not use
 *   `{{ unsubscribe_url }}` gets a short footer with it.
 */
import { Liquid, type Template } from 'liquidjs';

const options = {
  ownPropertyOnly: true,
  strictFilters: true,
  // An in-memory (empty) template store instead of the worker's file system.
  templates: {},
} as const;
const textEngine = new Liquid(options);
const htmlEngine = new Liquid({ ...options, outputEscape: 'escape' });

export type TemplatePart = 'subject' | 'html' | 'text';
const engineFor = (part: TemplatePart) => (part === 'html' ? htmlEngine : textEngine);

// Every send renders the same few templates; parsing each once keeps sends cheap.
const parsedTemplates = new Map<string, Template[]>();
const PARSED_TEMPLATES_LIMIT = 2000;

function parse(part: TemplatePart, template: string): Template[] {
  const cacheKey = `${part === 'html' ? 'h' : 't'}${template}`;
  let parsed = parsedTemplates.get(cacheKey);
  if (!parsed) {
    parsed = engineFor(part).parse(template);
    if (parsedTemplates.size >= PARSED_TEMPLATES_LIMIT) parsedTemplates.clear();
    parsedTemplates.set(cacheKey, parsed);
  }
  return parsed;
}

export interface ContactFields {
  email: string;
  name: string | null;
  timeZone: string | null;
  attributes: Record<string, unknown>;
  tags: string[];
}

export interface RenderContext {
  contact: ContactFields;
  sequence: { name: string };
  /** The contact's signed unsubscribe link; null renders no link and no footer. */
  unsubscribeUrl: string | null;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string | null;
}

export interface StepCopy {
  subject: string;
  html: string;
  text?: string | null;
}

/** A template that does not parse or render, and which part of the step it is. */
export class TemplateError extends Error {
  constructor(
    readonly part: TemplatePart,
    message: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

/**
 * The variables templates see: `contact.*` (email, name, first_name, last_name, time_zone,
 * tags, and each custom attribute, also under `contact.attributes`), `sequence.name` and
 * `unsubscribe_url`. An attribute named `first_name` or `last_name` wins over the halves of
 * `name`; the other built-in fields win over attributes.
 */
export function templateVariables(context: RenderContext): Record<string, unknown> {
  const { contact } = context;
  const [firstName, ...rest] = (contact.name ?? '').trim().split(/\s+/).filter(Boolean);
  return {
    contact: {
      first_name: firstName ?? null,
      last_name: rest.length > 0 ? rest.join(' ') : null,
      ...contact.attributes,
      email: contact.email,
      name: contact.name,
      time_zone: contact.timeZone,
      tags: contact.tags,
      attributes: contact.attributes,
    },
    sequence: context.sequence,
    unsubscribe_url: context.unsubscribeUrl,
  };
}

async function renderPart(
  part: TemplatePart,
  template: string,
  variables: Record<string, unknown>,
): Promise<string> {
  try {
    return (await engineFor(part).render(parse(part, template), variables)) as string;
  } catch (error) {
    throw new TemplateError(part, error instanceof Error ? error.message : String(error));
  }
}

export async function renderStep(copy: StepCopy, context: RenderContext): Promise<RenderedEmail> {
  const variables = templateVariables(context);
  const [subject, html, text] = await Promise.all([
    renderPart('subject', copy.subject, variables),
    renderPart('html', copy.html, variables),
    copy.text ? renderPart('text', copy.text, variables) : Promise.resolve(null),
  ]);
  const url = context.unsubscribeUrl;
  return {
    // One line: a template's line breaks must not turn into header folding or injection.
    subject: subject.replace(/\s+/g, ' ').trim(),
    html: url && !html.includes(url) ? withHtmlFooter(html, url) : html,
    text:
      text !== null && url && !text.includes(url) ? `${text.trimEnd()}\n\n--\nUnsubscribe: ${url}\n` : text,
  };
}

function withHtmlFooter(html: string, url: string): string {
  const footer =
    `<p style="margin-top:32px;font-size:12px;color:#6b7280">` +
    `Don't want these emails? <a href="${url}" style="color:#6b7280">Unsubscribe</a>.</p>`;
  const bodyEnd = html.search(/<\/body\s*>/i);
  return bodyEnd < 0 ? `${html}\n${footer}` : `${html.slice(0, bodyEnd)}${footer}\n${html.slice(bodyEnd)}`;
}

/** Checks that a template parses with its part's engine; returns the parser's message, or null. */
export function templateError(template: string, part: TemplatePart = 'html'): string | null {
  try {
    parse(part, template);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
