import { render } from "preact";

import { App } from "./App";
import "./console.css";
import "./transfer.css";
import "./team.css";
import "./directory.css";
import "./supervisor.css";

render(<App />, document.getElementById("app")!);
