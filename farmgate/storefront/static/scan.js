// Camera scanning for the courier page, where the browser supports it (BarcodeDetector).
// Without it the page works as a form: type the lot code or paste the link.
(function () {
  "use strict";
  var button = document.getElementById("camera");
  var video = document.getElementById("viewfinder");
  if (!button || !video || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" } })
      .then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        video.play();
        var look = function () {
          detector.detect(video).then(function (codes) {
            if (codes.length) {
              stream.getTracks().forEach(function (t) { t.stop(); });
              var form = button.form;
              form.elements.code.value = codes[0].rawValue;
              form.submit();
            } else {
              window.requestAnimationFrame(look);
            }
          });
        };
        look();
      })
      .catch(function () { button.hidden = true; });
  });
})();
