// Captum Insights: the page. Plain JavaScript over the server's JSON API (see docs/insights.md); no build step.
'use strict';

const $ = id => document.getElementById(id);
const state = { info: null, model: null, examples: [], source: null, controller: null, runs: [] };

function element(tag, props = {}, children = []) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'text') el.textContent = value;
    else el[key] = value;
  }
  for (const child of children) el.append(child);
  return el;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

async function getJson(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

// Captum's visualize_text colours: green for positive importance, red for negative, by magnitude in [-1, 1].
function wordColor(value) {
  const v = Math.max(-1, Math.min(1, value));
  return v > 0 ? `hsl(120, 75%, ${100 - Math.trunc(50 * v)}%)` : `hsl(0, 75%, ${100 - Math.trunc(-40 * v)}%)`;
}

function format(value) {
  return value === null || value === undefined ? '–' : Number(value).toPrecision(6);
}

async function start() {
  try {
    state.info = await getJson('api/models');
  } catch (e) {
    showError(`Cannot reach the server: ${e.message}`);
    return;
  }
  for (const m of state.info.models) $('model').append(element('option', { value: m.name, text: m.name }));
  for (const v of state.info.views) $('view').append(element('option', { value: v, text: v }));
  for (const s of state.info.signs) $('sign').append(element('option', { value: s, text: s }));
  for (const b of state.info.baselines) $('baseline').append(element('option', { value: b.name, text: b.name, title: b.description }));
  $('steps').max = state.info.limits.maxSteps;
  $('steps').value = state.info.limits.defaultSteps;
  $('model').addEventListener('change', () => selectModel($('model').value));
  $('filter').addEventListener('change', loadExamples);
  $('predicted').addEventListener('change', loadExamples);
  $('expected').addEventListener('change', loadExamples);
  $('use-upload').addEventListener('click', useUpload);
  $('run').addEventListener('click', explain);
  $('cancel').addEventListener('click', () => state.controller && state.controller.abort());
  $('view').addEventListener('change', refreshImages);
  $('sign').addEventListener('change', refreshImages);
  await selectModel(state.info.models[0].name);
}

async function selectModel(name) {
  state.model = state.info.models.find(m => m.name === name);
  $('model-description').textContent = state.model.description;
  $('methods').replaceChildren(...state.model.methods.map((m, i) => element('label', { title: m.description }, [
    element('input', { type: 'checkbox', name: 'method', value: m.name, checked: i === 0, dataset: { testid: `method-${m.name}` } }),
    ' ' + m.name,
  ])));
  const labels = state.model.labels;
  $('target').replaceChildren(element('option', { value: 'predicted', text: 'predicted' }), ...labels.map(l => element('option', { value: l, text: l })));
  for (const filter of [$('predicted'), $('expected')]) filter.replaceChildren(element('option', { value: '', text: 'any' }), ...labels.map(l => element('option', { value: l, text: l })));
  const uploads = state.model.inputs.map(input => input.kind === 'image'
    ? element('label', { text: `${input.name} ` }, [element('input', { type: 'file', accept: 'image/*', name: input.name, dataset: { testid: `upload-${input.name}` } })])
    : element('label', { text: `${input.name} ` }, [element('input', { type: 'text', name: input.name, maxLength: state.info.limits.maxTextLength, placeholder: input.description, dataset: { testid: `upload-${input.name}` } })]));
  $('upload-inputs').replaceChildren(...uploads);
  // The source names the inputs "Use these inputs" took: changing one makes it stale, so it is dropped until used again.
  for (const input of $('upload-inputs').querySelectorAll('input')) {
    input.addEventListener(input.type === 'file' ? 'change' : 'input', () => {
      if (state.source && state.source.kind === 'upload') setSource(null);
    });
  }
  $('upload-panel').hidden = !state.model.acceptsUploads;
  const images = state.model.inputs.some(input => input.kind === 'image');
  $('view').parentElement.hidden = !images;
  $('sign').parentElement.hidden = !images;
  // Token inputs keep the model's baseline tokens under every choice: a model of text inputs alone has none to make.
  const textOnly = state.model.inputs.length > 0 && state.model.inputs.every(input => input.kind === 'text');
  $('baseline').parentElement.hidden = textOnly;
  if (textOnly) $('baseline').value = 'model';
  $('examples-panel').hidden = state.model.examples === 0;
  // Other models with the same inputs can explain the same source side by side: an example by its index when they
  // have the same examples (the same dataset, not merely as many), else (a model that takes uploads, e.g. the
  // tutorial's VQA model beside the scenes model) as an upload of the example's inputs. One that can take neither is
  // listed disabled, saying why (setSource keeps this up to date with the source).
  const others = state.info.models.filter(m => m.name !== name && JSON.stringify(m.inputs) === JSON.stringify(state.model.inputs));
  $('compare-models').replaceChildren(...others.map(m => element('label', { dataset: { model: m.name } }, [
    element('input', { type: 'checkbox', value: m.name, dataset: { testid: `compare-${m.name}` } }), ' ' + m.name + ' ',
    element('span', { className: 'muted', dataset: { testid: `compare-reason-${m.name}` } }),
  ])));
  $('compare').hidden = others.length === 0;
  setSource(null);
  if (state.model.examples > 0) await loadExamples();
}

async function loadExamples() {
  const params = new URLSearchParams({ filter: $('filter').value });
  if ($('predicted').value) params.set('predicted', $('predicted').value);
  if ($('expected').value) params.set('expected', $('expected').value);
  $('examples-status').textContent = 'Loading examples (the model predicts each)…';
  try {
    const body = await getJson(`api/models/${encodeURIComponent(state.model.name)}/examples?${params}`);
    state.examples = body.examples;
    $('examples-status').textContent = `${body.examples.length} of ${body.total} examples`;
    $('examples').replaceChildren(...body.examples.map(exampleItem));
  } catch (e) {
    $('examples-status').textContent = '';
    showError(e.message);
  }
}

function exampleItem(example) {
  const texts = Object.values(example.texts).join(' · ');
  const item = element('li', { dataset: { index: example.index, testid: 'example' } }, [
    ...example.files.slice(0, 1).map(f => element('img', { src: `api/models/${encodeURIComponent(state.model.name)}/examples/${example.index}/inputs/${encodeURIComponent(f)}`, alt: example.id })),
    element('div', {}, [
      element('div', { className: 'question', text: texts || example.id }),
      element('div', {}, [
        element('span', { className: `badge ${example.correct === false ? 'incorrect' : 'correct'}`, text: example.correct === false ? 'incorrect' : example.correct ? 'correct' : 'unlabelled' }),
        element('span', { className: 'muted', text: example.error ? `expected ${example.expected ?? '–'} · no prediction: ${example.error}` : `expected ${example.expected ?? '–'} · predicted ${example.predicted}` }),
      ]),
    ]),
  ]);
  item.addEventListener('click', () => {
    for (const li of $('examples').children) li.classList.toggle('selected', li === item);
    setSource({ kind: 'example', index: example.index, dataset: state.model.dataset, id: example.id, texts: example.texts, label: `Example ${example.id}: ${texts}` });
  });
  return item;
}

// The upload inputs as they are, [name, value, file name] each; an error naming the input that is missing or too large.
function uploadValues() {
  const values = [];
  for (const input of $('upload-inputs').querySelectorAll('input')) {
    if (input.type === 'file') {
      const file = input.files[0];
      if (!file) throw new Error(`${input.name}: choose an image file.`);
      if (file.size > state.info.limits.maxUploadBytes) throw new Error(`${input.name}: ${file.name} is ${file.size} bytes; at most ${state.info.limits.maxUploadBytes} may be uploaded.`);
      values.push([input.name, file, file.name]);
    } else {
      if (!input.value.trim()) throw new Error(`${input.name} is empty: type ${input.placeholder}.`);
      values.push([input.name, input.value]);
    }
  }
  return values;
}

function useUpload() {
  showError('');
  let values;
  try {
    values = uploadValues();
  } catch (e) {
    return showError(e.message);
  }
  for (const li of $('examples').children) li.classList.remove('selected');
  const files = values.filter(v => v[1] instanceof File).map(v => v[2]);
  const texts = values.filter(v => !(v[1] instanceof File)).map(v => v[1]);
  setSource({ kind: 'upload', label: `Upload: ${[...files, texts.join(' · ')].join(' ')}` });
}

function setSource(source) {
  state.source = source;
  $('selection').textContent = source ? source.label : 'Pick an example or give your own inputs.';
  $('run').disabled = !source;
  for (const label of $('compare-models').children) {
    const reason = compareRefusal(state.info.models.find(m => m.name === label.dataset.model));
    const box = label.querySelector('input');
    box.disabled = reason !== '';
    if (box.disabled) box.checked = false;
    label.title = reason;
    label.querySelector('span').textContent = reason ? `(${reason})` : '';
  }
}

// Whether another model has the page's model's examples: the same dataset (GET /api/models' identity), whose example
// i is the same; two datasets of as many examples are not.
function sharesExamples(other) {
  return other.dataset !== null && other.dataset === state.model.dataset;
}

// Why another model cannot explain the source beside the page's model, or '' when it can: an example goes by its
// index to a model with the same examples and as an upload of its inputs to any other, an upload as it is.
function compareRefusal(other) {
  if (!sharesExamples(other) && !other.acceptsUploads) return 'has other examples and takes no uploads';
  if (state.source && state.source.kind === 'upload' && !other.acceptsUploads) return 'takes no uploads: it explains its own examples only';
  return '';
}

// The form of one model's request; uploads are the upload inputs as Explain read them, the same for every model.
async function requestForm(model, source, uploads) {
  const form = new FormData();
  form.append('model', model);
  for (const box of $('methods').querySelectorAll('input:checked')) form.append('method', box.value);
  form.append('steps', $('steps').value);
  form.append('target', $('target').value);
  form.append('baseline', $('baseline').value);
  const other = state.info.models.find(m => m.name === model);
  const refusal = model === state.model.name ? '' : compareRefusal(other);
  if (refusal) throw new Error(`${model} cannot explain this beside ${state.model.name}: ${refusal}.`);
  if (source.kind === 'example' && sharesExamples(other)) {
    // The index with its dataset's identity: the server refuses it for a model of another dataset.
    form.append('example', String(source.index));
    form.append('dataset', source.dataset);
  } else if (source.kind === 'example') {
    // A model without these examples is given the example's own inputs, as an upload named by the example's id.
    for (const input of state.model.inputs) {
      if (input.kind !== 'image') {
        form.append(input.name, source.texts[input.name] ?? '');
        continue;
      }
      const image = await fetch(`api/models/${encodeURIComponent(state.model.name)}/examples/${source.index}/inputs/${encodeURIComponent(input.name)}`);
      if (!image.ok) throw new Error(`${input.name}: the example's image cannot be read (${image.status}).`);
      form.append(input.name, await image.blob(), source.id);
    }
  } else {
    for (const [name, value, fileName] of uploads) {
      if (fileName === undefined) form.append(name, value);
      else form.append(name, value, fileName);
    }
  }
  return form;
}

async function explain() {
  showError('');
  if (!$('methods').querySelector('input:checked')) return showError('Pick at least one method.');
  const source = state.source;
  let uploads = null;
  try {
    if (source.kind === 'upload') uploads = uploadValues();
  } catch (e) {
    return showError(`${e.message} Then "Use these inputs" again.`);
  }
  const controller = new AbortController();
  state.controller = controller;
  $('run').disabled = true;
  $('cancel').hidden = false;
  $('progress').hidden = false;
  $('progress').value = 0;
  $('status').textContent = 'Queued…';
  const models = [state.model.name, ...[...$('compare-models').querySelectorAll('input:checked:not(:disabled)')].map(b => b.value)];
  const runs = [];
  try {
    for (const model of models) {
      const finished = await explainWith(model, source, uploads, controller);
      if (!finished) return;
      runs.push(finished);
    }
    $('status').textContent = 'Done.';
    await render(runs);
  } catch (e) {
    if (e.name === 'AbortError') {
      $('status').textContent = 'Cancelled.';
    } else {
      $('status').textContent = '';
      showError(e.message);
    }
  } finally {
    state.controller = null;
    $('run').disabled = !state.source;
    $('cancel').hidden = true;
    $('progress').hidden = true;
  }
}

// One model's run, streamed: its progress shown as it comes; the finished run, or null after an error line.
async function explainWith(model, source, uploads, controller) {
  let finished = null;
  const response = await fetch('api/explain', { method: 'POST', body: await requestForm(model, source, uploads), headers: { Accept: 'application/x-ndjson' }, signal: controller.signal });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const wait = response.headers.get('Retry-After');
    throw new Error((body.error || `${response.status} ${response.statusText}`) + (wait ? ` (retry after ${wait} s)` : ''));
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!line.trim()) continue;
      const message = JSON.parse(line);
      if (message.type === 'progress') {
        $('progress').value = (message.methodIndex + message.completed / Math.max(1, message.total)) / message.methodCount;
        $('status').textContent = `${model} · ${message.method}: ${message.completed}/${message.total}`;
      } else if (message.type === 'result') {
        finished = { model, id: message.run, document: message.result };
      } else if (message.type === 'error') {
        showError(`${model}: ${message.error}`);
        $('status').textContent = '';
      }
    }
  }
  return finished;
}

// One row per model (the first is the page's model), each the image, then one column per method.
async function render(runs) {
  state.runs = [];
  for (const run of runs) state.runs.push({ ...run, info: await getJson(`api/runs/${run.id}`) });
  const first = state.runs[0];
  const result = first.document.results[0];
  $('summary').replaceChildren(element('div', {}, [element('strong', { text: result.question || result.image })]));
  $('download-json').href = `api/runs/${first.id}/result.json`;
  $('download-report').href = `api/runs/${first.id}/report.html`;
  const rows = state.runs.map(run => {
    const r = run.document.results[0];
    const columns = [];
    for (const input of run.info.images) {
      columns.push(element('div', { className: 'column original' }, [
        element('h3', { text: `${input} (original)` }),
        element('img', { src: imageUrl(run.id, input, null), alt: `${input}`, dataset: { testid: 'original' } }),
      ]));
    }
    for (const method of run.document.methods) columns.push(methodColumn(run, method, r));
    return element('div', { className: 'model-row', dataset: { model: run.model, testid: `model-row-${run.model}` } }, [
      element('div', { dataset: { testid: 'answer' } }, [
        state.runs.length > 1 ? element('strong', { text: `${run.model}: ` }) : '',
        ...answerParts(r),
        r.expected ? ` · expected ${r.expected}` : '',
        state.runs.length > 1 ? element('a', { href: `api/runs/${run.id}/result.json`, download: 'result.json', text: ' JSON' }) : '',
      ]),
      element('div', { className: 'columns' }, columns),
    ]);
  });
  $('columns').replaceChildren(...rows);
  $('results').hidden = false;
}

// The model's prediction, then, when the target chosen is another class, the class the attributions explain.
function answerParts(r) {
  const parts = [
    'Predicted: ', element('strong', { text: r.predicted, dataset: { testid: 'predicted-label' } }),
    ' (probability ', element('span', { text: format(r.predictedProbability), dataset: { testid: 'predicted-probability' } }), ')',
  ];
  if (r.answerIndex !== r.predictedIndex) {
    parts.push(' · Explained: ', element('strong', { text: r.answer, dataset: { testid: 'explained-label' } }),
      ' (probability ', element('span', { text: format(r.probability), dataset: { testid: 'explained-probability' } }), ')');
  }
  return parts;
}

function imageUrl(run, input, method) {
  const params = new URLSearchParams(method
    ? { method, view: $('view').value, sign: $('sign').value }
    : { view: 'original_image' });
  return `api/runs/${run}/images/${encodeURIComponent(input)}?${params}`;
}

function refreshImages() {
  for (const img of document.querySelectorAll('img.heatmap')) img.src = imageUrl(img.dataset.run, img.dataset.input, img.dataset.method);
}

// A heat map the server did not draw: its own reason, e.g. a view Captum refuses for the sign, or a run no longer kept.
async function imageError(img) {
  const url = img.src;
  let reason = '';
  try {
    const response = await fetch(url);
    if (!response.ok) reason = (await response.json()).error || `${response.status} ${response.statusText}`;
  } catch (e) {
    reason = `the server cannot be reached (${e.message})`;
  }
  if (img.src !== url) return;
  showError(`The ${img.dataset.method} heat map of ${img.dataset.input} cannot be shown: ${reason || 'it did not load; try again'}`);
}

function methodColumn(runState, method, result) {
  const run = runState.id;
  const numbers = result.methods[method];
  const column = element('div', { className: 'column', dataset: { method, testid: `method-result-${method}` } }, [element('h3', { text: method })]);
  for (const input of runState.info.images) {
    const img = element('img', { className: 'heatmap', alt: `${method} attribution of ${input}`, dataset: { input, method, run, testid: 'heatmap' } });
    img.src = imageUrl(run, input, method);
    img.addEventListener('error', () => imageError(img));
    column.append(img);
  }
  if (numbers.tokenAttributions && result.tokens) {
    const norm = Math.sqrt(numbers.tokenAttributions.reduce((s, t) => s + t * t, 0)) || 1;
    column.append(element('div', { className: 'words', dataset: { testid: 'words' } }, result.tokens.map((token, i) => element('span', {
      className: 'word',
      text: token,
      title: `${numbers.tokenAttributions[i]}`,
      style: `background: ${wordColor(numbers.tokenAttributions[i] / norm)}`,
      dataset: { value: String(numbers.tokenAttributions[i]), testid: 'word' },
    }))));
  }
  for (const input of runState.info.features) column.append(featureBars(run, input, method));
  // A model without image inputs has no image contribution to show (it is 0 by definition).
  const rows = [['Text contribution', numbers.textContribution, 'text'], ['Image contribution', numbers.imageContribution, 'image'], ['Total contribution', numbers.totalContribution, 'total'], ['Convergence delta', numbers.delta, 'delta']]
    .filter(([, , key]) => key !== 'image' || runState.info.images.length > 0);
  column.append(element('table', { className: 'numbers' }, rows.map(([name, value, key]) => element('tr', {}, [
    element('th', { text: name }),
    element('td', { text: format(value), dataset: { testid: `number-${key}`, value: value === null ? '' : String(value) } }),
  ]))));
  const info = state.info.models.find(m => m.name === runState.model).methods.find(m => m.name === method);
  if (info && !info.completeness) {
    column.append(element('p', {
      className: 'note',
      title: info.description,
      text: 'These sums are not the output\'s change from the baseline (the method has no completeness), so they do not compare with those of a method with a convergence delta.',
      dataset: { testid: 'number-note' },
    }));
  }
  return column;
}

function featureBars(run, input, method) {
  const box = element('div', { className: 'features', dataset: { testid: 'features' } }, [element('div', { className: 'muted', text: input })]);
  getJson(`api/runs/${run}/features/${encodeURIComponent(input)}?method=${encodeURIComponent(method)}`).then(body => {
    const max = Math.max(1e-12, ...body.values.map(Math.abs));
    for (let i = 0; i < body.names.length; i++) {
      const v = body.values[i];
      box.append(element('div', { className: 'bar' }, [
        element('span', { text: body.names[i], style: 'width: 6rem' }),
        element('span', { className: 'fill', style: `width: ${Math.round(120 * Math.abs(v) / max)}px; background: ${v >= 0 ? '#4caf50' : '#e53935'}` }),
        element('span', { text: format(v), dataset: { value: String(v) } }),
      ]));
    }
  }).catch(e => showError(e.message));
  return box;
}

start();
