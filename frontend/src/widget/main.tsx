import { render } from "preact";

render(<p>The chat is coming.</p>, document.getElementById("app")!);
