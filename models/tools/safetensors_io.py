"""A small safetensors reader and writer (Debian has no safetensors package).

The format: an 8-byte little-endian unsigned header length N, N bytes of JSON
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}), then the raw
little-endian tensor bytes; offsets are relative to the end of the header. The header is padded with
spaces to a multiple of 8 bytes, as the reference library writes it. bf16 has no numpy type, so its
bytes go through an int16 view of the torch tensor.
"""
import json
import os
import struct

import torch

DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64,
          'I64': torch.int64, 'I32': torch.int32}
DTYPE_NAMES = {value: key for key, value in DTYPES.items()}
ITEM_BYTES = {'F32': 4, 'F16': 2, 'BF16': 2, 'F64': 8, 'I64': 8, 'I32': 4}
CLI_DTYPES = {'f32': 'F32', 'f16': 'F16', 'bf16': 'BF16'}


def header_bytes(entries, metadata=None):
    """entries: [(name, dtype_name, shape)] in file order. Returns (header bytes, byte size of each tensor)."""
    header, offset, sizes = {}, 0, []
    for name, dtype_name, shape in entries:
        size = ITEM_BYTES[dtype_name]
        for dim in shape:
            size *= dim
        header[name] = {'dtype': dtype_name, 'shape': list(shape), 'data_offsets': [offset, offset + size]}
        offset += size
        sizes.append(size)
    if metadata:
        header['__metadata__'] = {str(key): str(value) for key, value in metadata.items()}
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text, sizes


def tensor_bytes(tensor, dtype_name):
    tensor = tensor.detach().to(DTYPES[dtype_name]).contiguous().cpu()
    if dtype_name == 'BF16':
        return tensor.view(torch.int16).numpy().tobytes()
    return tensor.numpy().tobytes()


def write_streaming(path, entries, make_tensor, metadata=None):
    """Writes tensors one at a time (bounded memory): `make_tensor(name)` returns each in `entries` order."""
    head, sizes = header_bytes(entries, metadata)
    with open(path, 'wb') as handle:
        handle.write(head)
        for (name, dtype_name, shape), size in zip(entries, sizes):
            tensor = make_tensor(name)
            if tuple(tensor.shape) != tuple(shape):
                raise ValueError(f'{name}: made shape {tuple(tensor.shape)}, declared {tuple(shape)}')
            data = tensor_bytes(tensor, dtype_name)
            assert len(data) == size, name
            handle.write(data)


def write_safetensors(path, tensors, dtype_name='F32', metadata=None):
    """tensors: {name: tensor}, all written as `dtype_name`, in name order."""
    names = sorted(tensors)
    entries = [(name, dtype_name, tuple(tensors[name].shape)) for name in names]
    write_streaming(path, entries, lambda name: tensors[name], metadata)


def read_safetensors(path):
    """Returns ({name: tensor in its stored dtype}, metadata)."""
    with open(path, 'rb') as handle:
        (length,) = struct.unpack('<Q', handle.read(8))
        header = json.loads(handle.read(length).decode('utf-8'))
        data = handle.read()
    metadata = header.pop('__metadata__', {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry['data_offsets']
        dtype = DTYPES[entry['dtype']]
        raw = bytearray(data[begin:end])
        if dtype == torch.bfloat16:
            flat = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.zeros(0, dtype=dtype)
        else:
            flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.zeros(0, dtype=dtype)
        tensors[name] = flat.reshape(entry['shape'])
    return tensors, metadata


def read_checkpoint(folder):
    """A Hugging Face folder's weights: model.safetensors, or the shards named by model.safetensors.index.json."""
    index_path = os.path.join(folder, 'model.safetensors.index.json')
    if os.path.exists(index_path):
        with open(index_path) as handle:
            weight_map = json.load(handle)['weight_map']
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            part, _ = read_safetensors(os.path.join(folder, shard))
            tensors.update(part)
        missing = sorted(set(weight_map) - set(tensors))
        if missing:
            raise ValueError(f'{index_path} names tensors no shard holds: {missing[:5]}')
        return tensors
    return read_safetensors(os.path.join(folder, 'model.safetensors'))[0]
