import { useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, describeError } from '../lib/api';
import { diffLines, hasChanges, normalizeJson } from '../lib/diff';
import { formatPath, locatePath, resolvePath, splitMessage, type TextPosition } from '../lib/json-path';

/**
 * A JSON document edited as text (contract §7.1/§7.2): the changes against the saved version shown
 * as a line diff before "Save", and the server's validation message shown at the field it names
 * (its line, the cursor moved there).
 */
export function DocumentEditor(props: {
  label: string;
  /** The saved document, or null while loading. */
  saved: unknown;
  readOnly: boolean;
  save: (document: unknown) => Promise<void>;
  /** More tools that work on the text being edited (the policy test box). */
  children?: (text: string) => ReactNode;
}) {
  const id = useId();
  const area = useRef<HTMLTextAreaElement>(null);
  const savedText = useMemo(() => (props.saved === null ? '' : JSON.stringify(props.saved, null, 2)), [props.saved]);
  const [text, setText] = useState(savedText);
  const [problem, setProblem] = useState<{ message: string; at: TextPosition | null; field: string | null } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setText(savedText);
    setProblem(null);
  }, [savedText]);

  const diff = useMemo(() => diffLines(savedText, normalizeJson(text)), [savedText, text]);
  const changed = hasChanges(diff);

  const showAt = (message: string, at: TextPosition | null, field: string | null) => {
    setProblem({ message, at, field });
    if (at && area.current) {
      area.current.focus();
      area.current.setSelectionRange(at.offset, at.offset);
    }
  };

  const submit = async () => {
    setNotice(null);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (e) {
      showAt(`Not JSON: ${(e as Error).message}`, null, null);
      return;
    }
    setBusy(true);
    try {
      await props.save(document);
      setProblem(null);
      setNotice('Saved');
    } catch (e) {
      if (e instanceof ApiError && e.code === 'INVALID_MESSAGE') {
        const { path } = splitMessage(e.message);
        const resolved = path && resolvePath(document, path);
        showAt(e.message, resolved ? locatePath(text, resolved) : null, resolved ? formatPath(resolved) : null);
      } else {
        showAt(describeError(e), null, null);
      }
    } finally {
      setBusy(false);
    }
  };

  const lines = text.split('\n');
  return (
    <div className="editor">
      <div className="field">
        <label htmlFor={id}>{props.label}</label>
        <textarea
          id={id}
          ref={area}
          value={text}
          rows={Math.min(Math.max(lines.length + 1, 10), 30)}
          spellCheck={false}
          readOnly={props.readOnly}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? `${id}-problem` : undefined}
          onChange={(e) => {
            setText(e.target.value);
            setNotice(null);
          }}
        />
      </div>
      {problem && (
        <div id={`${id}-problem`} className="error field-error" role="alert">
          <p>{problem.message}</p>
          {problem.at && (
            <p>
              At line {problem.at.line}, column {problem.at.column}
              {problem.field ? ` (${problem.field})` : ''}: <code>{lines[problem.at.line - 1]?.trim()}</code>
            </p>
          )}
        </div>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {!props.readOnly && (
        <div className="actions">
          <button type="button" className="primary" disabled={busy} onClick={() => void submit()}>
            Save
          </button>
          <button type="button" disabled={!changed} onClick={() => setText(savedText)}>
            Discard changes
          </button>
        </div>
      )}
      {props.children?.(text)}
      <section aria-label="Changes to save" className="diff">
        <h3>{changed ? 'Changes to save' : 'No unsaved changes'}</h3>
        {changed && (
          <pre>
            {diff.map((line, i) => (
              <span key={i} className={`diff-${line.kind}`}>
                {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
                {line.text}
                {'\n'}
              </span>
            ))}
          </pre>
        )}
      </section>
    </div>
  );
}
