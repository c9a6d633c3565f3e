// The desk, enhanced (every page works without this). The photo form: too-large photos are
// named beside the field before they are sent (a 50 MB upload over rural 4G would take
// minutes only to be refused).
"use strict";
document.querySelectorAll("form[data-max-file]").forEach(function (form) {
  var maxFile = Number(form.dataset.maxFile);
  var maxTotal = Number(form.dataset.maxTotal);
  form.addEventListener("submit", function (event) {
    var total = 0;
    var problem = "";
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file, i) {
        total += file.size;
        if (!problem && file.size > maxFile) {
          problem = "第" + (i + 1) + "张（" + file.name + "）：图片不能超过 " + Math.round(maxFile / 1048576) + " MB";
        }
      });
    });
    if (!problem && total > maxTotal) {
      problem = "一次选的照片合计超过 " + Math.round(maxTotal / 1048576) + " MB，请少选几张，分几次上传";
    }
    if (!problem) return;
    event.preventDefault();
    var field = form.querySelector(".field");
    var input = field.querySelector("input");
    var message = field.querySelector(".error-message");
    if (!message) {
      message = document.createElement("p");
      message.className = "error-message";
      message.id = input.id + "-error";
      field.insertBefore(message, input);
      field.classList.add("has-error");
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", (input.getAttribute("aria-describedby") || "") + " " + message.id);
    }
    message.textContent = problem;
    message.setAttribute("role", "alert");
    input.focus();
  });
});

// As GOV.UK does: after a refused form, move focus to the error summary so it is read first.
(function () {
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
})();
