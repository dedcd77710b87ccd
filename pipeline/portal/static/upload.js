// Drag-and-drop onto the upload box, and the chosen file's name beside our own button; the plain file input
// works without this script.
(function () {
  var drop = document.getElementById("drop"), input = document.getElementById("file"),
      form = document.getElementById("upload-form"), chosen = document.getElementById("chosen");
  if (!drop || !input || !form) return;
  input.addEventListener("change", function () {
    if (chosen && input.files && input.files.length) chosen.textContent = input.files[0].name;
  });
  ["dragenter", "dragover"].forEach(function (e) {
    drop.addEventListener(e, function (ev) { ev.preventDefault(); drop.classList.add("over"); });
  });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (ev) {
    ev.preventDefault(); drop.classList.remove("over");
    if (ev.dataTransfer && ev.dataTransfer.files.length) { input.files = ev.dataTransfer.files; form.submit(); }
  });
})();
