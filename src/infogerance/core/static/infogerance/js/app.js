/*
 * Infogérance: small progressive enhancements.
 *
 * CSP-safe: no eval, no inline handlers, no injected <style>/<script>.
 * Works without htmx: every listener is attached to `document`, so nothing here
 * calls the htmx API and the htmx:* listeners simply never fire if htmx is absent.
 * Load it with `defer` (before or after htmx, order does not matter).
 *
 *  (a) adds the CSRF token from <meta name="csrf-token" content="..."> to every
 *      htmx request, as the X-CSRFToken header;
 *  (b) submits form.lang-switch as soon as its <select> changes (the submit
 *      button stays in the markup for users without JavaScript);
 *  (c) asks window.confirm(message) before acting on any element carrying
 *      data-confirm="message": a form (on submit), a submit button, a link or a
 *      button (on click), or an htmx element fired by another trigger.
 */
(function () {
  'use strict';

  var doc = document;

  /* ---------------------------------------------------------------------------
   * (a) CSRF token on htmx requests
   * ------------------------------------------------------------------------- */
  function csrfToken() {
    var meta = doc.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') || '' : '';
  }

  doc.addEventListener('htmx:configRequest', function (evt) {
    var token = csrfToken();
    if (token && evt.detail && evt.detail.headers) {
      evt.detail.headers['X-CSRFToken'] = token;
    }
  });

  /* ---------------------------------------------------------------------------
   * (b) Language switcher: submit on change
   * ------------------------------------------------------------------------- */
  doc.addEventListener('change', function (evt) {
    var select = evt.target;
    if (!(select instanceof HTMLSelectElement)) { return; }
    var form = select.form;
    if (!form || !form.classList.contains('lang-switch')) { return; }
    if (typeof form.requestSubmit === 'function') {
      form.requestSubmit(); // fires "submit" and runs validation, like a click
    } else {
      form.submit();
    }
  });

  /* ---------------------------------------------------------------------------
   * (c) data-confirm
   *
   * Native click/submit are intercepted in the capture phase on document, i.e.
   * before the browser's default action and before htmx's own listeners on the
   * element: a refusal stops the event there, so neither runs.
   * Events already confirmed are remembered so that the follow-up "submit" (after
   * a confirmed click on a submit button) and the "htmx:confirm" event (for the
   * same click/submit) do not ask a second time.
   * ------------------------------------------------------------------------- */
  var CLICK_SELECTOR = [
    'a[data-confirm]',
    'button[data-confirm]',
    'input[type="submit"][data-confirm]',
    'input[type="image"][data-confirm]',
    'input[type="button"][data-confirm]',
    '[role="button"][data-confirm]'
  ].join(',');

  var confirmedEvents = new WeakSet();   // events the user already accepted
  var confirmedElements = new WeakSet(); // submit buttons accepted by a click, until the next task

  function ask(el) {
    return window.confirm(el.getAttribute('data-confirm') || '');
  }

  function refuse(evt) {
    evt.preventDefault();
    evt.stopImmediatePropagation();
  }

  doc.addEventListener('click', function (evt) {
    if (!(evt.target instanceof Element)) { return; }
    var el = evt.target.closest(CLICK_SELECTOR);
    if (!el || el.disabled || el.getAttribute('aria-disabled') === 'true') { return; }
    if (!ask(el)) {
      refuse(evt);
      return;
    }
    confirmedEvents.add(evt);
    confirmedElements.add(el);
    // A submit triggered by this click happens synchronously within the click's
    // default action; forget the element afterwards so a later submit asks again.
    window.setTimeout(function () { confirmedElements.delete(el); }, 0);
  }, true);

  doc.addEventListener('submit', function (evt) {
    var form = evt.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    var submitter = evt.submitter || null;
    var el = null;
    if (submitter && submitter.hasAttribute('data-confirm')) {
      if (confirmedElements.has(submitter)) {
        confirmedEvents.add(evt); // already accepted on click
        return;
      }
      el = submitter;
    } else if (form.hasAttribute('data-confirm')) {
      el = form;
    }
    if (!el) { return; }
    if (ask(el)) {
      confirmedEvents.add(evt);
    } else {
      refuse(evt);
    }
  }, true);

  // htmx elements fired by something other than an intercepted click/submit
  // (hx-trigger="change", "keyup", "load", a delayed trigger whose event was not
  // intercepted...). htmx's own hx-confirm also works; do not use both on one element.
  doc.addEventListener('htmx:confirm', function (evt) {
    var detail = evt.detail || {};
    var el = detail.elt;
    if (!el || typeof el.hasAttribute !== 'function' || !el.hasAttribute('data-confirm')) { return; }
    if (detail.triggeringEvent && confirmedEvents.has(detail.triggeringEvent)) { return; }
    evt.preventDefault(); // hold the request until the user answers
    if (ask(el) && typeof detail.issueRequest === 'function') {
      detail.issueRequest(true); // true: skip htmx's own confirmation step
    }
  });
}());
