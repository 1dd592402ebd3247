// Starts Swagger UI on the API docs page (a file, not an inline script: the page's CSP allows no inline script).
window.addEventListener("DOMContentLoaded", () => {
  const container = document.getElementById("swagger-container");
  window.ui = SwaggerUIBundle({
    url: container.dataset.url,
    domNode: container,
    deepLinking: true,
    validatorUrl: null, // no badge fetched from the online validator: the page makes no request elsewhere
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  });
});
