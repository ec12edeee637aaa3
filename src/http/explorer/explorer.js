// The explorer: posts the document to /graphql and shows the answer.
(function () {
  "use strict";
  var form = document.getElementById("explorer");
  var answer = document.getElementById("answer");
  var status = document.getElementById("status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var variables;
    try {
      var text = document.getElementById("variables").value.trim();
      variables = text === "" ? null : JSON.parse(text);
    } catch (e) {
      answer.textContent = "The variables are not JSON: " + e.message;
      return;
    }
    var headers = {
      "content-type": "application/json",
      "accept": "application/graphql-response+json, application/json"
    };
    var token = document.getElementById("token").value.trim();
    if (token !== "") {
      headers.authorization = "Bearer " + token;
    }
    status.textContent = "Running…";
    var started = performance.now();
    fetch("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: JSON.stringify({ query: document.getElementById("query").value, variables: variables })
    }).then(function (response) {
      return response.text().then(function (body) {
        var shown = body;
        try { shown = JSON.stringify(JSON.parse(body), null, 2); } catch (e) { /* not JSON: as sent */ }
        answer.textContent = shown;
        status.textContent = "HTTP " + response.status + " in " + Math.round(performance.now() - started) + " ms";
      });
    }).catch(function (e) {
      status.textContent = "";
      answer.textContent = "The request failed: " + e.message;
    });
  });
}());
