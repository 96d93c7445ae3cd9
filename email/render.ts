/**
 * Liquid templates for subjects and bodies (D3), rendered at send time from the live
 * version with the contact's fields, custom attributes and defaults.
 */
import { Liquid, type Template } from 'liquidjs';

const engine = new Liquid({ ownPropertyOnly: true, strictFilters: true });

// Every send renders the same few templates; parsing each once keeps sends cheap.
const parsedTemplates = new Map<string, Template[]>();
const PARSED_TEMPLATES_LIMIT = 2000;

function parse(template: string): Template[] {
  let parsed = parsedTemplates.get(template);
  if (!parsed) {
    parsed = engine.parse(template);
    if (parsedTemplates.size >= PARSED_TEMPLATES_LIMIT) parsedTemplates.clear();
    parsedTemplates.set(template, parsed);
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

/** The variables templates see: `contact.*` (with first/last name), its attributes, `sequence.name`. */
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

export async function renderStep(copy: StepCopy, context: RenderContext): Promise<RenderedEmail> {
  const variables = templateVariables(context);
  const render = (template: string) => engine.render(parse(template), variables) as Promise<string>;
  const [subject, html, text] = await Promise.all([
    render(copy.subject),
    render(copy.html),
    copy.text ? render(copy.text) : Promise.resolve(null),
  ]);
  return { subject: subject.trim(), html, text };
}

/** Checks that a template parses; returns the parser's message, or null when it is fine. */
export function templateError(template: string): string | null {
  try {
    parse(template);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
