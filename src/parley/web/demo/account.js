// A signed-in customer's page: the company's backend signs who the customer is, and the page
// hands the token to the chat widget. A real site renders the token into the page on its server
// (<script src="https://chat.example.com/widget.js" data-workgroup="sales" data-identity="...">)
// or calls window.Parley.identify(token) once the widget script has loaded. Here the demo's
// stand-in for that backend is asked for it.
fetch("/demo/identity-token", { cache: "no-store" })
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
  .then(({ token }) => {
    const script = document.createElement("script");
    script.src = "/widget.js";
    script.dataset.workgroup = "sales";
    script.dataset.identity = token;
    document.body.appendChild(script);
  });
