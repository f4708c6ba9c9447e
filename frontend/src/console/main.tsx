import { render } from "preact";

render(<p>The console is coming.</p>, document.getElementById("app")!);
