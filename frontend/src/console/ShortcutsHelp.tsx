import { useEffect, useRef } from "preact/hooks";

import { SHORTCUTS } from "./shortcuts";

/** The help dialog listing the keyboard shortcuts; Escape or the button closes it. */
export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => close.current?.focus(), []);
  return (
    <div
      class="dialog"
      role="dialog"
      aria-modal="true"
      aria-labelledby="shortcuts-heading"
      data-testid="shortcuts-help"
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          onClose();
        }
      }}
    >
      <h2 id="shortcuts-heading">Keyboard shortcuts</h2>
      <table class="shortcuts">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.action}>
              <th scope="row">
                <kbd>{s.keys}</kbd>
              </th>
              <td>{s.label}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="dialog-actions">
        <button type="button" class="primary" ref={close} onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
