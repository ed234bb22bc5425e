import type { z } from 'zod';
import type { ValidationIssue } from './errors.js';

/** zod issues as path + message pairs: safe to show a client (no values echoed back). */
export function zodIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
}
