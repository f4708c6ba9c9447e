import { render } from "preact";
import { describe, expect, it } from "vitest";

import { ArticleBody, sanitizeArticleHtml } from "./ArticleBody";

describe("ArticleBody", () => {
  it("keeps the allowlist and drops everything else", () => {
    const dirty =
      '<h2>Refunds</h2><p onclick="x()" style="color:red" class="c">Within <strong>30</strong> days' +
      '<img src=x onerror="alert(1)"></p><script>alert(1)</script><iframe src="https://evil.example"></iframe>' +
      '<a href="javascript:alert(1)">bad</a> <a href="https://help.example/x" target="_self">good</a>' +
      '<a href="/relative">rel</a><svg><a href="https://x.example">s</a></svg><!-- c --><div>text kept</div>';
    const safe = sanitizeArticleHtml(dirty);
    expect(safe).toContain("<h2>Refunds</h2>");
    expect(safe).toContain("<p>Within <strong>30</strong> days</p>");
    expect(safe).not.toMatch(/script|iframe|img|onerror|onclick|style=|class=|svg|<!--|javascript/i);
    expect(safe).toContain('<a target="_blank" rel="noopener noreferrer nofollow">bad</a>');
    expect(safe).toContain('<a href="https://help.example/x" target="_blank" rel="noopener noreferrer nofollow">good</a>');
    expect(safe).not.toContain('href="/relative"');
    expect(safe).toContain("text kept");
  });

  it("renders the cleaned HTML", () => {
    const root = document.createElement("div");
    render(<ArticleBody html={'<p>Hi <em>there</em></p><script>window.pwned = 1</script>'} />, root);
    expect(root.querySelector("[data-testid=article-body]")?.innerHTML).toBe("<p>Hi <em>there</em></p>");
  });

  it("is the only place any front end sets HTML", () => {
    // Every source file of both front ends, as text (Vite's glob; tests left out).
    const sources = import.meta.glob(["../**/*.ts", "../**/*.tsx", "!../**/*.test.ts", "!../**/*.test.tsx"], {
      query: "?raw",
      import: "default",
      eager: true,
    }) as Record<string, string>;
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    const offenders = Object.entries(sources)
      .filter(([, text]) => /dangerouslySetInnerHTML|\.innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=/.test(text))
      .map(([path]) => path.replace(/^\.\.\//, ""))
      .sort();
    // The launcher's icon is a constant SVG literal in loader.ts (no text of anyone's in it).
    expect(offenders).toEqual(["./ArticleBody.tsx", "widget/loader.ts"]);
    const loader = sources["../widget/loader.ts"];
    expect(loader.match(/innerHTML/g)?.length).toBe(1);
    expect(loader).toMatch(/innerHTML =\s*'<svg[^'<>]*><path d="[^"]*"\/><\/svg>';/);
  });
});
