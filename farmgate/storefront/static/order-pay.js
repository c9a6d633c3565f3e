// The order page while a payment is under way: inside WeChat, call the JSAPI bridge with the
// signed parameters the server put in #wxpay's data-params; then (and after WeChat's H5 page
// sends the buyer back) ask the server for the order's state until it is no longer unpaid.
// Without JavaScript the page still works: the QR code fallback and a "refresh" link.
(function () {
  "use strict";
  var section = document.getElementById("pay");
  if (!section) return;

  function poll(url, message) {
    var tries = 0;
    function ask() {
      tries += 1;
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (!data.pending) {
            var clean = location.pathname + location.search.replace(/[?&]paying=1/, "");
            location.replace(clean);
          } else if (tries < 60) {
            setTimeout(ask, 2000);
          } else if (message) {
            message.textContent = "暂未收到支付结果，请稍后刷新订单状态。";
          }
        })
        .catch(function () { if (tries < 60) setTimeout(ask, 2000); });
    }
    ask();
  }

  var box = document.getElementById("wxpay");
  if (box) {
    var button = document.getElementById("wxpay-button");
    var message = document.getElementById("wxpay-message");
    var params = JSON.parse(box.getAttribute("data-params"));
    var pay = function () {
      if (typeof window.WeixinJSBridge === "undefined") {
        message.textContent = "请在微信中打开本页付款，或改用二维码支付。";
        return;
      }
      button.disabled = true;
      window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) {
        button.disabled = false;
        var result = (res && res.err_msg) || "";
        if (result === "get_brand_wcpay_request:ok") {
          message.textContent = "支付完成，正在确认…";
          poll(box.getAttribute("data-status-url"), message);
        } else if (result === "get_brand_wcpay_request:cancel") {
          message.textContent = "已取消支付，可再次点击付款。";
        } else {
          message.textContent = "支付未完成，请重试或改用二维码支付。";
        }
      });
    };
    button.hidden = false;
    button.addEventListener("click", pay);
    if (box.hasAttribute("data-autostart")) {
      if (typeof window.WeixinJSBridge !== "undefined") pay();
      else document.addEventListener("WeixinJSBridgeReady", pay, false);
    }
    return;
  }
  if (section.hasAttribute("data-poll")) {
    poll(section.getAttribute("data-poll"), document.getElementById("pay-progress"));
  }
})();
